"""GraphQL fields; the platform gates them (PLUGIN_DISABLED for tenants without the plugin)."""

import graphene
from graphene_django import DjangoObjectType

from core.api.types import require_user

from .models import Note


class MyPluginNoteType(DjangoObjectType):
    class Meta:
        model = Note
        name = "MyPluginNote"
        fields = ("text",)


class Query(graphene.ObjectType):
    my_plugin_notes = graphene.List(graphene.NonNull(MyPluginNoteType), required=True)

    def resolve_my_plugin_notes(root, info):
        require_user(info)
        return Note.objects.order_by("pk")
