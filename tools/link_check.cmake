# The layers, checked when configuring (tools/CMakeLists.txt; tests/link_check): the operators' and auditors'
# tools link the client library, never the adapters' formats: not portcullis_adapter, portcullis_adapter_base,
# portcullis_native_formats nor any portcullis_format_<name>.

# Every library `target` links, directly or through others (LINK_LIBRARIES and INTERFACE_LINK_LIBRARIES),
# appended to the list named `out`. A name that is no target (yet) is listed but not walked.
function(portcullis_all_links target out)
  set(seen ${${out}})
  foreach(property LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(libs ${target} ${property})
    if(NOT libs)
      continue()
    endif()
    foreach(lib ${libs})
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" lib "${lib}")
      if(NOT lib IN_LIST seen)
        list(APPEND seen ${lib})
        if(TARGET ${lib})
          set(${out} ${seen})
          portcullis_all_links(${lib} ${out})
          set(seen ${${out}})
        endif()
      endif()
    endforeach()
  endforeach()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# Fails configuring if any of the targets links a format library.
function(portcullis_refuse_format_links)
  foreach(tool ${ARGN})
    set(links "")
    portcullis_all_links(${tool} links)
    foreach(lib ${links})
      if(lib MATCHES "^(portcullis_adapter|portcullis_adapter_base|portcullis_native_formats|portcullis_format_.+)$")
        message(FATAL_ERROR "${tool} links ${lib} (the native formats or the partner server): "
          "link portcullis_client instead (docs/architecture.md, layers)")
      endif()
    endforeach()
  endforeach()
endfunction()
