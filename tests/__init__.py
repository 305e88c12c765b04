"""emergence-lens tests.

A regular package on purpose: the Hershey-Fonts wheel installs its own top-level ``tests``
package, which would otherwise shadow this folder for ``from tests.conftest import ...``.
"""
