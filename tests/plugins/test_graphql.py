"""Plugins' GraphQL fields are stitched into one schema for every tenant, and refuse
tenants that have not enabled the plugin: a typed PLUGIN_DISABLED error and no data."""

from types import SimpleNamespace

import graphene
from graphene import relay

from plugins import hookimpl
from plugins.schema import PLUGIN_DISABLED, plugin_mutations, plugin_queries, requires_plugin

SECRET = {"1": "batch B-1, expires 2027-01"}
calls: list[str] = []


class BatchNode(graphene.ObjectType):
    class Meta:
        interfaces = (relay.Node,)

    label = graphene.String()

    @classmethod
    def get_node(cls, info, id):  # noqa: A002
        calls.append("get_node")
        return BatchNode(id=id, label=SECRET.get(id))


class BatchConnection(relay.Connection):
    class Meta:
        node = BatchNode


class PharmaQuery(graphene.ObjectType):
    pharma_batches = graphene.List(graphene.NonNull(graphene.String))
    pharma_batch = graphene.Field(BatchNode)
    pharma_connection = relay.ConnectionField(BatchConnection)

    def resolve_pharma_batches(root, info):
        calls.append("pharma_batches")
        return list(SECRET.values())

    def resolve_pharma_batch(root, info):
        return BatchNode(id="1", label=SECRET["1"])

    def resolve_pharma_connection(root, info, **kwargs):
        calls.append("pharma_connection")
        return [BatchNode(id="1", label=SECRET["1"])]


class RecallBatch(graphene.Mutation):
    class Arguments:
        batch = graphene.String(required=True)

    ok = graphene.Boolean()

    @classmethod
    def mutate(cls, root, info, batch):
        calls.append("recall")
        return RecallBatch(ok=True)


class PharmaMutation(graphene.ObjectType):
    pharma_recall = RecallBatch.Field()


class PharmaGraphQL:
    @hookimpl
    def graphql_query(self):
        return PharmaQuery

    @hookimpl
    def graphql_mutation(self):
        return PharmaMutation


def _schema(manager):
    """The root schema built the way config.schema builds it."""
    manager.register(PharmaGraphQL(), "pharma_test")

    class Query(*plugin_queries(manager), graphene.ObjectType):
        node = relay.Node.Field()

    class Mutation(*plugin_mutations(manager), graphene.ObjectType):
        pass

    return graphene.Schema(query=Query, mutation=Mutation)


def _run(schema, modules, query):
    calls.clear()
    request = SimpleNamespace(tenant=SimpleNamespace(modules=modules))
    return schema.execute(query, context_value=request)


QUERY = "{ pharmaBatches pharmaBatch { label } pharmaConnection { edges { node { label } } } }"
NODE = '{ node(id: "QmF0Y2hOb2RlOjE=") { ... on BatchNode { label } } }'


def test_hook_graphql_query(manager):
    schema = _schema(manager)
    enabled = _run(schema, ["pharma_test"], QUERY)
    assert enabled.errors is None
    assert enabled.data["pharmaBatches"] == [SECRET["1"]]
    assert enabled.data["pharmaConnection"]["edges"][0]["node"]["label"] == SECRET["1"]
    disabled = _run(schema, ["other"], QUERY)
    assert disabled.data is None or all(v is None for v in disabled.data.values())
    assert {e.extensions["code"] for e in disabled.errors} == {PLUGIN_DISABLED}
    assert len(disabled.errors) == 3 and calls == []  # no plugin resolver ran
    assert SECRET["1"] not in str(disabled.formatted)


def test_hook_graphql_query__nodes_of_a_plugin_are_gated(manager):
    schema = _schema(manager)
    assert _run(schema, ["pharma_test"], NODE).data == {"node": {"label": SECRET["1"]}}
    refused = _run(schema, [], NODE)
    assert refused.data == {"node": None} and calls == []
    assert refused.errors[0].extensions == {"code": PLUGIN_DISABLED, "plugin": "pharma_test"}


def test_hook_graphql_mutation(manager):
    schema = _schema(manager)
    mutation = 'mutation { pharmaRecall(batch: "B-1") { ok } }'
    assert _run(schema, ["pharma_test"], mutation).data == {"pharmaRecall": {"ok": True}}
    assert calls == ["recall"]
    refused = _run(schema, ["food"], mutation)
    assert refused.data == {"pharmaRecall": None} and calls == []
    assert refused.errors[0].extensions["code"] == PLUGIN_DISABLED


def test_requires_plugin_decorator_guards_any_resolver():
    class Query(graphene.ObjectType):
        shelf_life = graphene.Int()

        @requires_plugin("food")
        def resolve_shelf_life(root, info):
            return 180

    schema = graphene.Schema(query=Query)
    assert _run(schema, ["food"], "{ shelfLife }").data == {"shelfLife": 180}
    refused = _run(schema, ["pharma"], "{ shelfLife }")
    assert refused.data == {"shelfLife": None}
    assert refused.errors[0].extensions["code"] == PLUGIN_DISABLED
