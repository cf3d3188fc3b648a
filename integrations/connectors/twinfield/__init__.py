"""Twinfield (Wolters Kluwer): SOAP/XML web services, OpenID Connect login, offices."""
