(method_invocation name: (identifier) @ref)
(type_identifier) @ref
(field_access field: (identifier) @ref)
(import_declaration (scoped_identifier name: (identifier) @ref))
