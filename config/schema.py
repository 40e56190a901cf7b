"""The root GraphQL schema, stitched from each app's ``schema.py``.

Print the contract with ``python manage.py print_schema`` (writes
``graphql/schema.graphql``); CI fails when the file is stale.
"""

from __future__ import annotations

import graphene
from graphene import relay

from core.accounts import schema as accounts_schema
from core.api.types import NodeField
from core.catalog import schema as catalog_schema
from core.inventory import schema as inventory_schema
from core.orders import schema as orders_schema
from core.pricing import schema as pricing_schema
from plugins import schema as plugins_schema
from search import schema as search_schema

QUERIES = [
    accounts_schema.Query,
    catalog_schema.Query,
    inventory_schema.Query,
    orders_schema.Query,
    search_schema.Query,
    pricing_schema.Query,
]
MUTATIONS = [
    accounts_schema.Mutation,
    catalog_schema.Mutation,
    inventory_schema.Mutation,
    orders_schema.Mutation,
    pricing_schema.Mutation,
]
# Installed plugins' fields (hooks graphql_query / graphql_mutation), each gated
# so that a tenant without the plugin gets a PLUGIN_DISABLED error and no data.
QUERIES += plugins_schema.plugin_queries()
MUTATIONS += plugins_schema.plugin_mutations()


class Query(*QUERIES, graphene.ObjectType):
    node = NodeField(relay.Node, description="Fetch any object by its global ID.")


class Mutation(*MUTATIONS, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
