"""csconnect connector for Feedback Board (an example survey tool)."""
from .connector import ExampleConnector

__all__ = ["ExampleConnector"]
__version__ = "0.1.0"
