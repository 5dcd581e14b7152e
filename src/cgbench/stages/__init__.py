"""The workflow's steps at the file edge: one module per rule file of ``workflow/rules``, same name.

Each function here reads a rule's input files, calls the library for the science and writes the
rule's outputs; ``scripts/*.py`` call one of them with keyword arguments. This is the only
library code that takes the workflow's file paths or draws its figures; :mod:`.common` reads the
files that several stages share.
""" 
