"""The parts of every generated package that do not vary by schema, as ordinary modules.

They are linted, typed and tested here as source, and copied verbatim (under the generated header)
into each generated package, which imports nothing of medexempt at run time. They may import only
each other (relatively) and the generated package's stated requirements.
"""
