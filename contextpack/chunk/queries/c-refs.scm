(call_expression function: (identifier) @ref)
(field_expression field: (field_identifier) @ref)
(type_identifier) @ref
; a prototype refers to its definition (declared in a header, defined in a .c)
(declaration declarator: (function_declarator declarator: (identifier) @ref))
(declaration declarator: (_ declarator: (function_declarator declarator: (identifier) @ref)))
