/* echoer plugin: being written */
