"""Everything at the edges: where frames come from and where they go.

Sources (files, images, folders, cameras), sinks (video files with their audio, PNGs,
virtual camera, preview, null) and ``open``, which turns what the user typed into them.
"""
