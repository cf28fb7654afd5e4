(method_invocation name: (identifier) @ref)
(type_identifier) @ref
(field_access field: (identifier) @ref)
(import_declaration (scoped_identifier name: (identifier) @ref))
; an interface's method refers to the methods that implement it
(interface_body (method_declaration name: (identifier) @ref))
