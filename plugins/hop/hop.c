/* hop plugin: being written */
