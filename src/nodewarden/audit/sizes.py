"""What a VM size name says: vCPUs, series and quota family (`Standard_D4s_v3` → 4, D, standardDSv3Family).

Azure size names follow `Standard_<family><vCPUs>[-<constrained>]<features>[_<accelerator>][_v<N>]`
(learn.microsoft.com/azure/virtual-machines/vm-naming-conventions). Quota families in `az vm list-usage`
are named from the same parts; the few series that break the pattern are listed below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIZE = re.compile(
    r"^Standard_(?P<family>[A-Z]+)(?P<vcpus>\d+)(?:-(?P<constrained>\d+))?(?P<features>[a-z]*)"
    r"(?:_(?!v\d+$)(?P<accelerator>[A-Z][A-Za-z0-9]*))?(?:_(?P<version>v\d+))?$",
    re.IGNORECASE,
)

# Series whose quota family ignores the feature letters (`Standard_B2ms` counts against standardBSFamily).
_FAMILY_OVERRIDES = {("B", ""): "standardBSFamily", ("M", ""): "standardMSFamily"}


@dataclass(frozen=True, slots=True)
class VmSize:
    name: str
    series: str
    vcpus: int
    quota_family: str

    @property
    def is_burstable(self) -> bool:
        return self.series == "B"

    @property
    def is_gpu(self) -> bool:
        return self.series.startswith("N")


def parse_vm_size(name: str | None) -> VmSize | None:
    """The parts of a size name, or None when it does not follow the naming convention."""
    if not name:
        return None
    match = _SIZE.match(name.strip())
    if not match:
        return None
    series = match["family"].upper()
    features = (match["features"] or "").lower()
    version = (match["version"] or "").lower()
    override = _FAMILY_OVERRIDES.get((series, version))
    family = override or f"standard{series}{features.upper()}{version}Family"
    return VmSize(name=name, series=series, vcpus=int(match["vcpus"]), quota_family=family)
