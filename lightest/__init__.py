"""lightest: where does the light come from? One face photo in, light direction out.

>>> from lightest import Estimator
>>> with Estimator() as est:                       # doctest: +SKIP
...     r = est.estimate_path("face.jpg")
...     print(r.azimuth_deg, r.elevation_deg)
"""

from lightest.estimator import Estimator, EstimatorOptions, StageTimes
from lightest.result import LightEstimate
from lightest.smoothing import SmoothingOptions

__all__ = ["Estimator", "EstimatorOptions", "LightEstimate", "SmoothingOptions", "StageTimes", "__version__"]
__version__ = "0.1.0"
