(call_expression function: (identifier) @ref)
(selector_expression field: (field_identifier) @ref)
(type_identifier) @ref
; an interface's method refers to the methods that implement it
(method_elem name: (field_identifier) @ref)
