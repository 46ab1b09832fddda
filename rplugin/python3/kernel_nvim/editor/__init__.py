"""The only code that calls the nvim API."""
