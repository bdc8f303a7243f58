"""csconnect metric pack (example): survey volume and NPS promoter share."""
from .pack import ExamplePack

__all__ = ["ExamplePack"]
__version__ = "0.1.0"
