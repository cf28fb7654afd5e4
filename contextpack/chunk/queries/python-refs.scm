; References a Python chunk makes: calls, attributes, types, imports, bases, decorators.
(call function: (identifier) @ref)
(attribute attribute: (identifier) @ref)
(type (identifier) @ref)
(argument_list (identifier) @ref)
(import_from_statement name: (dotted_name (identifier) @ref))
(import_from_statement name: (aliased_import name: (dotted_name (identifier) @ref)))
(decorator (identifier) @ref)
