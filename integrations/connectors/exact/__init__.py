"""Exact Online: ``{host}/api/v1/{division}/…`` with OAuth2, OData answers and GUID ids."""
