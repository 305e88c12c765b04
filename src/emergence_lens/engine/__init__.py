"""Running the audit's per-example part by (family, task) partitions: bounded memory, every core,
resumable, locally or on a Dask cluster.

* :mod:`.partition` — the partitions of a deferred bundle and the work of one
  (:func:`run_partition`: read its samples files, form records, re-score);
* :mod:`.store` — finished partitions on disk, so a killed run resumes;
* :mod:`.runner` — :func:`run_audit_partitions` with ``engine="local"`` (processes on this machine)
  or ``engine="dask"`` (Dask distributed: a ``LocalCluster``, or a scheduler address), on an
  :class:`EngineSession` whose workers the audit keeps to draw its figures.
"""

from emergence_lens.engine.partition import AuditOptions, Partition, PartitionResult, plan_partitions, run_partition
from emergence_lens.engine.runner import ENGINES, SERIAL_BYTES, EngineSession, PartitionFailed, run_audit_partitions
from emergence_lens.engine.store import PartitionStore

__all__ = ["AuditOptions", "Partition", "PartitionResult", "plan_partitions", "run_partition", "ENGINES",
           "PartitionFailed", "run_audit_partitions", "PartitionStore", "EngineSession", "SERIAL_BYTES"]
