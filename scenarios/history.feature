Feature: Message history
  A room's history is read newest page first, with no message lost or repeated across pages.

  Scenario: History is paged with a cursor
    Given alice is in a new room "archive"
    And alice has sent 25 numbered messages
    When alice reads the history 10 messages at a time
    Then the pages hold 10, 10 and 5 messages
    And the pages together hold all 25 messages once, in order
