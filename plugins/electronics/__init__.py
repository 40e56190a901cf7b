"""Electronics: parametric attributes with unit normalisation, parametric search,
reel and MOQ rules, and alternates (parts with matching parameters).

Nothing is imported here: the platform imports the hooks module
(``plugins.electronics.plugin``) while its settings load, before Django is set up.
"""
