(call_expression function: (identifier) @ref)
(new_expression constructor: (identifier) @ref)
(member_expression property: (property_identifier) @ref)
(import_specifier name: (identifier) @ref)
(type_identifier) @ref
(jsx_opening_element name: (identifier) @ref)
(jsx_self_closing_element name: (identifier) @ref)
; an interface's method refers to the methods that implement it
(interface_body (method_signature name: (property_identifier) @ref))
