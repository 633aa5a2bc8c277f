(namespace_definition name: (namespace_name) @name) @definition.module
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.interface
(class_declaration name: (name) @name) @definition.class
(enum_declaration name: (name) @name) @definition.type
(function_definition name: (name) @name) @definition.function
(method_declaration name: (name) @name) @definition.method
(function_call_expression function: (name) @name) @reference.call
(function_call_expression function: (qualified_name (name) @name)) @reference.call
(scoped_call_expression name: (name) @name) @reference.call
(member_call_expression name: (name) @name) @reference.call
