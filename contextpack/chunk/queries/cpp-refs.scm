(call_expression function: (identifier) @ref)
(call_expression function: (qualified_identifier name: (identifier) @ref))
(field_expression field: (field_identifier) @ref)
(type_identifier) @ref
