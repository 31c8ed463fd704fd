"""Type stubs of the native module (use the functions of ``pinnersage`` instead:
they normalise their arguments and are documented there)."""

from typing import Any, Dict, Optional

import numpy as np
import numpy.typing as npt

DEFAULT_ALPHA: float

class Config:
    def __init__(
        self,
        alpha: float,
        n_clusters: Optional[int],
        lambda_: float,
        lambda_unit: str,
        window_seconds: Optional[float],
        time_unit: str,
        max_history: Optional[int],
        max_clusters: Optional[int],
        unknown_items: str,
    ) -> None: ...

def product_kernel() -> str: ...
def linkage(
    x: npt.NDArray[Any], weights: Optional[npt.NDArray[Any]] = None, lean: Optional[bool] = None
) -> npt.NDArray[np.float64]: ...
def profile(
    config: Config,
    items: npt.NDArray[np.int64],
    timestamps: npt.NDArray[np.int64],
    embeddings: npt.NDArray[Any],
    item_ids: Optional[npt.NDArray[np.int64]],
    now: int,
) -> Dict[str, Any]: ...
def profiles(
    config: Config,
    users: npt.NDArray[np.int64],
    items: npt.NDArray[np.int64],
    timestamps: npt.NDArray[np.int64],
    embeddings: npt.NDArray[Any],
    item_ids: Optional[npt.NDArray[np.int64]],
    now: int,
    threads: Optional[int],
    members: bool,
    skip_errors: bool,
) -> Dict[str, Any]: ...
def select(
    importances: npt.NDArray[np.float64], n: int, strategy: str, seed: int
) -> npt.NDArray[np.int64]: ...
