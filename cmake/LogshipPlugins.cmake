# Helpers for plugin folders (agent/sources/<type>/, collector/sinks/<type>/).

# logship_plugin_proto(<consumer> <file.proto>): compiles a plugin's own .proto (its
# checkpoint state, say) into a library of its own (generated code gets no -Werror) linked
# to <consumer>. Included by its path from the repository root, e.g.
# "agent/sources/file/file_state.pb.h"; it may import the wire protos under proto/.
function(logship_plugin_proto consumer proto)
  get_filename_component(abs ${proto} ABSOLUTE)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${abs})
  string(REGEX REPLACE "\\.proto$" "" stem ${rel})
  string(MAKE_C_IDENTIFIER ${stem} name)
  set(out ${PROJECT_BINARY_DIR}/plugin_proto)
  add_custom_command(
    OUTPUT ${out}/${stem}.pb.cc ${out}/${stem}.pb.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND protobuf::protoc --cpp_out ${out} -I ${PROJECT_SOURCE_DIR} -I ${PROJECT_SOURCE_DIR}/proto ${abs}
    DEPENDS ${abs} protobuf::protoc
    COMMENT "protoc ${rel}"
    VERBATIM)
  add_library(${name} STATIC ${out}/${stem}.pb.cc)
  target_include_directories(${name} PUBLIC ${out})
  target_link_libraries(${name} PUBLIC logship_proto)
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_link_libraries(${consumer} PUBLIC ${name})
endfunction()
