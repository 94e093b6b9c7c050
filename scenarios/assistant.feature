Feature: The assistant
  A message that mentions @agent gets a reply from the assistant in the same room.

  Scenario: The assistant answers a mention
    Given alice is in a new room "help-desk"
    When alice sends "@agent ping"
    Then alice receives "pong" from the assistant

  Scenario: The assistant echoes text
    Given alice is in a new room "echo"
    When alice sends "@agent echo release 1.2 is out"
    Then alice receives "release 1.2 is out" from the assistant
