"""nodewarden keeps AKS clusters healthy when the scale-set instances under their nodes fail."""

__version__ = "0.1.0"
