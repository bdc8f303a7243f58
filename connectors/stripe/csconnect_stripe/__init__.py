"""csconnect-stripe: Stripe billing data into csconnect's canonical model."""
from __future__ import annotations

from .connector import STRIPE_VERSION, StripeConnector

__version__ = "0.1.0"
__all__ = ["STRIPE_VERSION", "StripeConnector", "__version__"]
