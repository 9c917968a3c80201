"""Converters that turn encoder weights shipped in other formats into transformers model directories.

``convert`` sits below ``models`` in the import order: it imports only ``crossling.errors`` and
``crossling.utils``, and ``models`` resolves ``offline:<name>`` through it.
"""
