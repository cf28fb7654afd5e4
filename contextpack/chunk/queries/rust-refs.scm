(call_expression function: (identifier) @ref)
(call_expression function: (scoped_identifier name: (identifier) @ref))
(field_expression field: (field_identifier) @ref)
(type_identifier) @ref
(macro_invocation macro: (identifier) @ref)
(use_declaration argument: (scoped_identifier name: (identifier) @ref))
; a trait's method refers to the methods that implement it
(trait_item body: (declaration_list (function_signature_item name: (identifier) @ref)))
