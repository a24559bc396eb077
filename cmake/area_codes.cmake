# Turns the vendor's area code attachment IN (data/moka-area-codes.txt: a few title lines, then a
# JSON object of "code": "name" pairs, one per line) into a C source OUT defining eb_area_table[]
# (sorted by code, for bsearch) and eb_area_table_n. Any line inside the object that is not one
# such pair, a code that is not 1 to 9 digits, a duplicate code, or a name holding a quote or a
# backslash stops the build with the line number: the table is never silently partial.
file(STRINGS ${IN} lines ENCODING UTF-8)
set(state before)
set(lineno 0)
set(entries "")
set(codes "")
foreach(line IN LISTS lines)
  math(EXPR lineno "${lineno} + 1")
  if(state STREQUAL "before")
    if(line MATCHES "^[ \t]*{[ \t]*$")
      set(state inside)
    endif()
  elseif(state STREQUAL "inside")
    if(line MATCHES "^[ \t]*}[ \t]*$")
      set(state after)
    elseif(line MATCHES "^[ \t]*$")
      # blank line inside the object
    elseif(line MATCHES "^[ \t]*\"([0-9]+)\"[ \t]*:[ \t]*\"([^\"\\\\]*)\"[ \t]*,?[ \t]*$")
      set(code "${CMAKE_MATCH_1}")
      set(name "${CMAKE_MATCH_2}")
      string(LENGTH "${code}" clen)
      if(clen GREATER 9 OR name STREQUAL "")
        message(FATAL_ERROR "${IN} line ${lineno}: bad area code entry")
      endif()
      # no leading zeros in the numeric value: 9 digits at most fit an int32_t
      string(REGEX REPLACE "^0+([0-9])" "\\1" code "${code}")
      string(REPLACE "?" "\\?" name "${name}")
      # a zero-padded sort key keeps the numeric order in a text sort
      string(LENGTH "${code}" clen)
      math(EXPR pad "10 - ${clen}")
      string(REPEAT "0" ${pad} zeros)
      list(APPEND entries "${zeros}${code}|    {${code}, \"${name}\"},")
      list(APPEND codes "${code}")
    else()
      message(FATAL_ERROR "${IN} line ${lineno}: not a \"code\": \"name\" pair: ${line}")
    endif()
  endif()
endforeach()
if(NOT state STREQUAL "after")
  message(FATAL_ERROR "${IN}: no complete { ... } object of area codes")
endif()
list(LENGTH codes n)
set(unique ${codes})
list(REMOVE_DUPLICATES unique)
list(LENGTH unique n_unique)
if(NOT n EQUAL n_unique)
  message(FATAL_ERROR "${IN}: duplicate area codes")
endif()
list(SORT entries)
set(body "")
foreach(e IN LISTS entries)
  string(REGEX REPLACE "^[0-9]+\\|" "" e "${e}")
  string(APPEND body "${e}\n")
endforeach()
file(WRITE ${OUT} "/* Generated at build time by cmake/area_codes.cmake from data/moka-area-codes.txt\n"
  " * (the vendor's administrative area codes); do not edit. */\n"
  "#include \"candidate/area.h\"\n\n"
  "const struct eb_area eb_area_table[] = {\n${body}};\n"
  "const size_t eb_area_table_n = sizeof eb_area_table / sizeof eb_area_table[0];\n")
