/* tcp plugin: being written */
