"""The digital twin: a simulated AKS cluster speaking the Kubernetes and ARM wire protocols.

An honest stranger to the product: nothing here imports from the rest of nodewarden, so a bug in
nodewarden cannot hide behind the same bug in the twin.
"""
