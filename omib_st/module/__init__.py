"""The OMIB model as a pure-torch module, its tasks, dynamic weights and β bound."""

from omib_st.module.beta_bound import BetaBound, estimate_beta_bound
from omib_st.module.dynamic_weights import DynamicWeights
from omib_st.module.likelihood import Likelihood
from omib_st.module.loss import LossOutput
from omib_st.module.mine import MINE, MutualInformationEstimator, donsker_varadhan
from omib_st.module.omib import OMIB, OMIBOutput
from omib_st.module.tasks import FUSED, Classification, OneClass, Regression, Task

__all__ = [
    "FUSED",
    "OMIB",
    "BetaBound",
    "Classification",
    "DynamicWeights",
    "Likelihood",
    "LossOutput",
    "MINE",
    "MutualInformationEstimator",
    "OMIBOutput",
    "OneClass",
    "Regression",
    "Task",
    "donsker_varadhan",
    "estimate_beta_bound",
]
