"""Which model a verb scores or explains with: a given model, a version, an alias or the champion.

:func:`resolve_model` is the one place where ``model=`` of ``riskml.predict``,
``riskml.explain`` and the scoring job is read. With no model, the registry's
``champion`` is loaded; when there is none because the last backtest split held too few
confirmed cases to pass the promotion gates, the error says so (see
:func:`riskml.tracking._promotion.evaluation_shortfall`).
"""

from __future__ import annotations

from riskml.models import RiskModel
from riskml.tracking._promotion import evaluation_shortfall
from riskml.tracking._registry import load_model

__all__ = ["ModelRef", "resolve_model"]

#: What a ``model`` parameter of the verbs accepts: a :class:`~riskml.models.RiskModel`, a
#: registered version (``3`` or ``"3"``), an alias (``"challenger"``) or None for the
#: ``champion``.
ModelRef = RiskModel | int | str | None


def resolve_model(target: str, model: ModelRef = None) -> RiskModel:
    """The model of ``target`` to use: ``model`` itself, a registered version, an alias or the champion.

    Parameters
    ----------
    target : str
        Model target (``"credit"``, ``"fraud"``), i.e. registered model ``riskml-<target>``.
    model : RiskModel, int, str or None
        A model (returned as it is), a version number (``3`` or ``"3"``), an alias
        (``"challenger"``) or None for the ``champion``.

    Returns
    -------
    RiskModel

    Raises
    ------
    LookupError
        When the version or alias does not exist; with no champion, the message says
        when that is because the backtest had too few confirmed cases to evaluate.
    TypeError
        When ``model`` is none of the accepted kinds.

    Examples
    --------
    >>> from riskml.models._bundle import _tiny_model
    >>> model = _tiny_model()
    >>> resolve_model("credit", model) is model
    True
    >>> resolve_model("credit", 1.5)
    Traceback (most recent call last):
    ...
    TypeError: model must be None, a RiskModel, a version number or an alias; got float
    """
    if isinstance(model, RiskModel):
        return model
    if model is None:
        try:
            return load_model(target, alias="champion")
        except LookupError as exc:
            why = evaluation_shortfall(target)
            if why is None:
                raise
            raise LookupError(f"riskml-{target} has no champion: {why}, so no version passed the promotion gates; "
                              "train on more quarters or more entities, or pass model= a version explicitly") from exc
    if isinstance(model, int) or (isinstance(model, str) and model.isdigit()):
        return load_model(target, version=model)
    if isinstance(model, str):
        return load_model(target, alias=model)
    raise TypeError(f"model must be None, a RiskModel, a version number or an alias; got {type(model).__name__}")
