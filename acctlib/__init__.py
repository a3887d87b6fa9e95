"""acctlib: reproducible account-to-revenue reports from CRM exports."""

__version__ = "0.1.0"
