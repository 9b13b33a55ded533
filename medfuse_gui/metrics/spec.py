"""What each metric is (MetricSpec) and which conventions each preset uses (Preset). Pure data: no computation.

Conventions are documented in docs/metrics.md; this module is the single place the code reads them from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class MetricSpec:
    name: str                 # key in every result dict
    title: str                # human-readable name for panels and tables
    higher_is_better: bool
    unit: str                 # "bits", "nats", "dB", "grey levels", "" (dimensionless)
    notes: str                # one line: what it measures and how two sources combine (default preset)
    reference: str            # the paper that defines it
    sources: int              # 0: fused image only; 2: compares the fused image with both sources
    region: str               # "crop": computed on the cropped arrays; "map": whole-image maps restricted to the box
    undefined: str = ""       # when the value is NaN (documented undefined cases), "" if never


METRICS: Mapping[str, MetricSpec] = MappingProxyType({s.name: s for s in (
    MetricSpec("EN", "Entropy", True, "bits", "Shannon entropy of the 256-bin histogram of round(F)",
          "Roberts, Van Aardt, Ahmed, J. Appl. Remote Sens. 2 (2008) 023522", 0, "crop"),
    MetricSpec("SD", "Standard deviation", True, "grey levels", "standard deviation of F (contrast)",
          "standard statistic; see the survey Ma, Ma, Li, Inf. Fusion 45 (2019) 153", 0, "crop"),
    MetricSpec("SF", "Spatial frequency", True, "grey levels",
          "sqrt(RF^2 + CF^2), mean squared horizontal / vertical first differences of F",
          "Eskicioglu, Fisher, IEEE Trans. Commun. 43 (1995) 2959; Li, Yang, Image Vis. Comput. 26 (2008) 971",
          0, "crop"),
    MetricSpec("AG", "Average gradient", True, "grey levels", "mean of sqrt((dx^2 + dy^2)/2) over F",
          "as cited by MMIF-AMIN: Eskicioglu, Fisher, IEEE Trans. Commun. 43 (1995) 2959", 0, "crop"),
    MetricSpec("MI", "Mutual information", True, "bits", "I(A;F) + I(B;F) from 256x256 joint histograms",
          "Qu, Zhang, Yan, Electron. Lett. 38 (2002) 313", 2, "crop"),
    MetricSpec("NMI", "Normalised mutual information", True, "",
          "2 [I(A;F)/(H(A)+H(F)) + I(B;F)/(H(B)+H(F))], range [0, 2]",
          "Hossny, Nahavandi, Creighton, Electron. Lett. 44 (2008) 1066", 2, "crop",
          "NaN when a source and F are both constant in the region (0/0)"),
    MetricSpec("FMI_pixel", "Feature mutual information (pixel, edge features)", True, "",
          "mean over 3x3 windows of (FMI_AF + FMI_BF)/2 on binary Sobel edge maps, range [0, 1]",
          "Haghighat, Aghagolzadeh, Seyedarabi, Comput. Electr. Eng. 37 (2011) 744; "
          "Haghighat, Razian, AICT 2014 (fast FMI)", 2, "map",
          "NaN when no 3x3 window centre lies in the box (box inside the 1-pixel image border)"),
    MetricSpec("Qabf", "Q^AB/F edge preservation", True, "",
          "gradient-strength-weighted preservation of Sobel edge strength and orientation, range [0, 1]",
          "Xydeas, Petrovic, Electron. Lett. 36 (2000) 308", 2, "map",
          "NaN when neither source has an edge in the box (sum of gA + gB is 0)"),
    MetricSpec("VIFF", "Visual information fidelity for fusion (Han)", True, "",
          "4-scale VID/VIND ratio, per position the source with the smaller gain, scale weights [1,0,0.15,1]/2.15",
          "Han, Cai, Cao, Xu, Inf. Fusion 14 (2013) 127", 2, "map",
          "NaN when no scale has a window centre in the box"),
    MetricSpec("VIF", "Visual information fidelity (Sheikh-Bovik, pixel domain)", True, "",
          "multi-scale pixel-domain VIF (vifp) of each source against F, mean of the two",
          "Sheikh, Bovik, IEEE TIP 15 (2006) 430", 2, "map",
          "NaN when the sources carry no signal variance in the box (denominator 0); cddfuse preset: 1.0"),
    MetricSpec("SSIM", "Structural similarity", True, "",
          "SSIM(A,F) and SSIM(B,F) (Gaussian 11x11, sigma 1.5, L 255), mean of the two",
          "Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 13 (2004) 600", 2, "map",
          "NaN when no window centre lies in the box (box inside the window half-width at the image edge)"),
    MetricSpec("PSNR", "Peak signal-to-noise ratio", True, "dB", "mean of PSNR(A,F) and PSNR(B,F), peak 255",
          "standard; see the survey Ma, Ma, Li, Inf. Fusion 45 (2019) 153", 2, "crop",
          "+inf when F equals a source exactly (MSE 0; toolbox presets: both sources); cddfuse: -inf if max(F) is 0"),
    MetricSpec("MSE", "Mean squared error", False, "grey levels^2", "(MSE(A,F) + MSE(B,F)) / 2",
          "printed by the CDDFuse Evaluator", 2, "crop"),
    MetricSpec("CC", "Correlation coefficient", True, "", "mean of Pearson r(A,F) and r(B,F), range [-1, 1]",
          "see the survey Ma, Ma, Li, Inf. Fusion 45 (2019) 153", 2, "crop",
          "NaN when an image is constant in the box (zero variance)"),
    MetricSpec("SCD", "Sum of the correlations of differences", True, "",
          "r(A, F-B) + r(B, F-A), range [-2, 2]",
          "Aslantas, Bendes, AEU Int. J. Electron. Commun. 69 (2015) 1890", 2, "crop",
          "NaN when an image or a difference image is constant in the box"),
    MetricSpec("FSIM", "Feature similarity", True, "",
          "FSIM(A,F) and FSIM(B,F) (phase congruency + Scharr gradient), mean of the two, range [0, 1]",
          "Zhang, Zhang, Mou, Zhang, IEEE TIP 20 (2011) 2378", 2, "map",
          "NaN when phase congruency is 0 everywhere in the box (flat box)"),
    MetricSpec("AFM", "Absolute feature measurement (phase congruency, Q_P)", True, "",
          "product of the best correlations of phase congruency and its max / min moments, range [0, 1]",
          "Zhao, Laganiere, Liu, Int. J. Innov. Comput. Inf. Control 3 (2007) 1433", 2, "map",
          "NaN when a feature map is constant in the box for all three comparisons"),
)})

ALL_METRICS: tuple[str, ...] = ("EN", "SD", "SF", "AG", "MI", "NMI", "FMI_pixel", "Qabf", "VIFF", "VIF", "SSIM",
                                "PSNR", "CC", "SCD", "FSIM", "AFM")


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    metrics: tuple[str, ...]                      # what compute(..., metrics=None) returns, in this order
    options: Mapping[str, Mapping[str, object]]   # metric -> keyword options of its implementation
    printed_as: Mapping[str, str] = field(default_factory=dict)  # our name -> the toolbox's printed name
    read: str = "luma"                            # how the CLI reads colour files: "luma" (float BT.601) or "cv2_round"
    units: Mapping[str, str] = field(default_factory=dict)       # units that differ from MetricSpec.unit

    def unit(self, name: str) -> str:
        return self.units.get(name, METRICS[name].unit)


# Options not listed for a metric are the implementation defaults, which are the "default" preset's conventions.
_DEFAULT_OPTIONS: dict[str, dict[str, object]] = {name: {} for name in METRICS}


def _options(**overrides: dict[str, object]) -> Mapping[str, Mapping[str, object]]:
    merged = {name: dict(opts) for name, opts in _DEFAULT_OPTIONS.items()}
    for name, opts in overrides.items():
        merged[name].update(opts)
    return MappingProxyType({k: MappingProxyType(v) for k, v in merged.items()})


PRESETS: Mapping[str, Preset] = MappingProxyType({
    "default": Preset(
        "default", "MedFuse default",
        "Each metric as its original paper defines it; single-reference scores (SSIM, PSNR, VIF, FSIM, CC) are the "
        "mean over the two sources; information in bits; histograms of round(F) on 256 levels; SSIM data range 255; "
        "Q^AB/F constants normalised so that perfect preservation scores exactly 1.",
        ALL_METRICS, _options()),
    "cddfuse": Preset(
        "cddfuse", "CDDFuse Python Evaluator",
        "Reproduces utils/Evaluator.py of CDDFuse (Zhao et al., CVPR 2023) as run with its pinned scikit-image: every "
        "two-source metric is a sum over A and B, MI in nats on raw values, PSNR peak max(F), SSIM with data range 2 "
        "(the pinned version's float default), and the value it prints as 'VIFF' is Sheikh-Bovik VIF (ours: VIF). "
        "Metrics the Evaluator lacks use the default conventions when asked for.",
        ("EN", "SD", "SF", "AG", "MI", "SCD", "VIF", "Qabf", "SSIM", "CC", "PSNR", "MSE"),
        _options(AG={"mode": "numpy"}, MI={"levels": "raw", "base": "e"}, VIF={"combine": "sum", "nan_value": 1.0},
                 Qabf={"variant": "toolbox"}, SSIM={"variant": "skimage", "data_range": 2.0, "combine": "sum"},
                 PSNR={"peak": "max_f", "combine": "mse_mean"}),
        printed_as=MappingProxyType({"VIF": "VIFF"}), read="cv2_round", units=MappingProxyType({"MI": "nats"})),
    "vifb": Preset(
        "vifb", "VIFB / MEFB MATLAB toolboxes",
        "The MATLAB conventions of VIFB (Zhang et al. 2020), MEFB (2021) and Liu et al.'s TPAMI 2012 toolbox: MI on "
        "min-max normalised 256 levels in nats summed over sources, NMI (Hossny) on min-max levels, Q^AB/F with the "
        "toolbox constants, PSNR from the mean MSE with peak 255, AG and SD as MATLAB gradient / std2. Items marked "
        "'assumed' in docs/metrics.md are not checked against the toolboxes.",
        ("EN", "SD", "SF", "AG", "MI", "NMI", "FMI_pixel", "Qabf", "VIFF", "VIF", "SSIM", "PSNR", "CC", "SCD",
         "FSIM"),
        _options(SD={"ddof": 1}, AG={"mode": "matlab"}, MI={"levels": "minmax", "base": "e"},
                 NMI={"levels": "minmax"}, Qabf={"variant": "toolbox"}, PSNR={"peak": 255.0, "combine": "mse_mean"}),
        read="luma", units=MappingProxyType({"MI": "nats"})),
})

DEFAULT_PRESET = "default"
