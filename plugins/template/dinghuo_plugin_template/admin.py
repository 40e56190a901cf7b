from django.contrib import admin

from plugins.admin import PluginModelAdmin

from .models import Note


@admin.register(Note)
class NoteAdmin(PluginModelAdmin):
    plugin_name = "my_plugin"
