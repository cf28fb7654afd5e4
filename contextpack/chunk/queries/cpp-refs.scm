(call_expression function: (identifier) @ref)
(call_expression function: (qualified_identifier name: (identifier) @ref))
(field_expression field: (field_identifier) @ref)
(type_identifier) @ref
; a prototype refers to its definition (a class's method declared in a header, defined in a .cpp)
(field_declaration declarator: (function_declarator declarator: (field_identifier) @ref))
(field_declaration declarator: (_ declarator: (function_declarator declarator: (field_identifier) @ref)))
(declaration declarator: (function_declarator declarator: (identifier) @ref))
(declaration declarator: (_ declarator: (function_declarator declarator: (identifier) @ref)))
