# veil_add_library(NAME SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ... PC_REQUIRES "...")
# Builds lib<NAME> as a static and a shared library from the same objects,
# installs both with headers from include/, and writes a pkg-config file.
function(veil_add_library name)
  cmake_parse_arguments(A "" "PC_REQUIRES;PC_LIBS_PRIVATE" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name}_obj OBJECT ${A_SOURCES})
  target_include_directories(${name}_obj PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${name}_obj PUBLIC ${A_PUBLIC_DEPS} PRIVATE ${A_PRIVATE_DEPS})

  add_library(${name} STATIC $<TARGET_OBJECTS:${name}_obj>)
  add_library(${name}_shared SHARED $<TARGET_OBJECTS:${name}_obj>)
  # The shared library links the other veil libraries shared: linking their
  # static archives would copy their code (and their globals) into this one,
  # and a program loading both would hold two copies of each.
  set(shared_deps)
  foreach(d ${A_PUBLIC_DEPS})
    if(TARGET ${d}_shared)
      list(APPEND shared_deps ${d}_shared)
    else()
      list(APPEND shared_deps ${d})
    endif()
  endforeach()
  target_link_libraries(${name} PUBLIC ${A_PUBLIC_DEPS} PRIVATE ${A_PRIVATE_DEPS})
  target_link_libraries(${name}_shared PUBLIC ${shared_deps} PRIVATE ${A_PRIVATE_DEPS})
  foreach(t ${name} ${name}_shared)
    target_include_directories(${t} PUBLIC
      $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endforeach()
  # $ORIGIN: an installed libveil_share.so finds libveil_net.so beside it,
  # wherever the tree was installed or moved to.
  set_target_properties(${name}_shared PROPERTIES OUTPUT_NAME ${name}
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
    INSTALL_RPATH "$ORIGIN")

  install(TARGETS ${name} ${name}_shared
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include)
    install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()

  # prefix relative to the .pc file's folder (<libdir>/pkgconfig), so the
  # installed tree can be moved; an absolute libdir keeps the prefix as is.
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  else()
    string(REPLACE "/" ";" _parts "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
    set(PC_PREFIX "\${pcfiledir}")
    foreach(_p ${_parts})
      string(APPEND PC_PREFIX "/..")
    endforeach()
  endif()
  set(PC_NAME ${name})
  set(PC_REQUIRES "${A_PC_REQUIRES}")
  set(PC_LIBS_PRIVATE "${A_PC_LIBS_PRIVATE}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/veil.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${name}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${name}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()
