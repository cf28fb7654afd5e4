(call_expression function: (identifier) @ref)
(new_expression constructor: (identifier) @ref)
(member_expression property: (property_identifier) @ref)
(import_specifier name: (identifier) @ref)
(type_identifier) @ref
; an interface's method refers to the methods that implement it
(interface_body (method_signature name: (property_identifier) @ref))
