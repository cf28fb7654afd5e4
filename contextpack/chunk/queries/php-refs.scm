(function_call_expression function: (name) @ref)
(member_call_expression name: (name) @ref)
(scoped_call_expression name: (name) @ref)
(object_creation_expression (name) @ref)
(named_type (name) @ref)
(base_clause (name) @ref)
(class_interface_clause (name) @ref)
; an interface's method refers to the methods that implement it
(interface_declaration body: (declaration_list (method_declaration name: (name) @ref)))
