"""Strict FHIR R4B validation (fhir.resources), reported as PHI-free field paths instead of exceptions."""
from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validation_issues(resource: dict[str, Any], max_issues: int = 3) -> list[str]:
    """Why ``resource`` fails FHIR R4B validation, as ``Type.path: rule`` strings (empty when valid).

    Messages never carry the offending value (pydantic is asked not to include inputs).
    """
    rtype = str(resource.get("resourceType") or "")
    try:
        model = get_fhir_model_class(rtype)
    except (ValueError, KeyError):
        return [f"{rtype or 'resource'}: not a FHIR R4B resource type"]
    try:
        model.model_validate(resource)
    except ValidationError as e:
        errs = e.errors(include_input=False, include_url=False)
        issues = [f"{rtype}{_path(err['loc'])}: {err['msg']}" for err in errs[:max_issues]]
        if len(errs) > max_issues:
            issues.append(f"(+{len(errs) - max_issues} more)")
        return issues
    return []
