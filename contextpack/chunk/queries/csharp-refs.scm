(invocation_expression function: (identifier) @ref)
(member_access_expression name: (identifier) @ref)
(object_creation_expression type: (identifier) @ref)
(base_list (identifier) @ref)
(variable_declaration type: (identifier) @ref)
; an interface's method refers to the methods that implement it
(interface_declaration body: (declaration_list (method_declaration name: (identifier) @ref)))
