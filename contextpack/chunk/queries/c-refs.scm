(call_expression function: (identifier) @ref)
(field_expression field: (field_identifier) @ref)
(type_identifier) @ref
