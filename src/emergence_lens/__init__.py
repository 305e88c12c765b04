"""emergence-lens: is a sudden jump in a scaling curve a property of the models or of the metric?

Data flows one way::

    sources -> records -> metrics -> curves -> emergence -> report

* :mod:`emergence_lens.records`  - the tidy per-example table (pyarrow schema, Parquet I/O).
* :mod:`emergence_lens.metrics`  - per-example scores, registered by name with their properties.
* :mod:`emergence_lens.theory`   - the closed-form model of Schaeffer et al. (2023), Figure 2.
* :mod:`emergence_lens.curves`   - per-model metric values with bootstrap replicates.
* :mod:`emergence_lens.emergence` - emergence score, bootstrap CIs, resolution, verdicts.
* :mod:`emergence_lens.report`   - figures and markdown summaries.
"""

__version__ = "0.1.0"
