"""Fusion methods behind one registry. Importing this package does not import torch."""

from .registry import (Fuser, MethodInfo, Paper, UnknownMethodError, WeightsEntry, WeightsError, get_model,
                       get_model_info, list_models, manifest)

__all__ = ["Fuser", "MethodInfo", "Paper", "WeightsEntry", "WeightsError", "UnknownMethodError", "get_model",
           "get_model_info", "list_models", "manifest"]
