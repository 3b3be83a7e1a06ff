"""The registry publishing check: push, pull and delete through the OCI distribution API.

`publish.publish` runs the flow; `session` holds the client and the registry's auth (Basic
or the Bearer token flow its challenge starts); `content` builds what is pushed.
"""
