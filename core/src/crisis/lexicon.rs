//! The detector's phrase patterns and context rules.
//!
//! A pattern is a sequence of slots over normalised words. A slot lists
//! alternatives separated by `|`; a trailing `*` matches any word starting
//! so; `~N` skips up to N words; `#` is a number of 10 or more; `$` is the
//! end of the sentence (it matches without taking a word). Words are
//! compared squeezed (runs of a letter collapsed), so "killlll" and "kill"
//! are alike; patterns are written plainly and squeezed when loaded.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::normalize::{Key, Words, confusable, slang, squeeze, with_tokens};

/// A pattern word as the normaliser reads text: look-alike letters of
/// other scripts (Cyrillic "о") are read as Latin, so a Russian phrase is
/// written plainly here and matched as the text is read.
fn as_read(word: &str) -> String {
    word.chars()
        .flat_map(|c| confusable(c).unwrap_or(c).to_lowercase())
        .collect()
}
use super::{Assessment, Level};

/// What a matched pattern means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Active wish to die or to kill oneself, or self-harm. Explicitly
    /// about the writer ("myself", "my life").
    Active,
    /// Like `Active` but without a built-in "I" ("suicidal", "want to die"):
    /// only counts when the writer is the subject.
    ActiveGeneric,
    /// "end it", "do it": only counts with a time, a plan or a goodbye.
    Vague,
    /// Passive ideation, hopelessness, burden.
    Passive,
    /// A goodbye that means it ("my last message", "won't be around").
    FarewellStrong,
    /// A goodbye that needs a time or another sign ("goodbye all").
    FarewellWeak,
    /// An act in progress ("just swallowed a handful").
    Act,
    /// A time: tonight, friday, at midnight.
    Time,
    /// A plan or readiness: "everything is sorted", "have everything i need".
    Plan,
    /// Letters or a note to family or everyone.
    Letters,
    /// "Won't be around": a goodbye only next to another sign.
    Absence,
    /// Pills or tablets got ready ("the tablets ready").
    Stash,
    /// A high place, or tracks.
    Place,
    /// A stated intent: "going to", "gonna", "about to".
    Intent,
    /// Jumping, which needs a place and an intent.
    Jump,
    /// Being at a high place or the tracks ("on the bridge", "at the tracks").
    PlaceAt,
    /// "Right now", for presence at a place or means at hand.
    Now,
    /// Readiness said outright ("i think im ready").
    Ready,
    /// Pills or a bottle taken, said plainly ("took the tablets"): only
    /// with a goodbye or a time.
    Took,
    /// Things handed on ("whoever wants my guitar"): only with a goodbye
    /// or an absence.
    GiveAway,
}

const PATTERNS: &[(Kind, &str)] = &[
    // Active, first person built in.
    (
        Kind::Active,
        "kil|kiling|kils|unalive|unaliving myself|myslf|meself",
    ),
    (Kind::Active, "kil|kiling|unalive my self"),
    (Kind::Active, "end|ending|take|taking my ~1 life"),
    (Kind::Active, "end|ending it al"),
    // No "I" built in: "she wanted to end it" is hers.
    (Kind::ActiveGeneric, "feel|felt like ending|end it"),
    (
        Kind::ActiveGeneric,
        "want|wanted|wanting|wana|ned to end it",
    ),
    (Kind::ActiveGeneric, "thinking|think about|of ending|end it"),
    (
        Kind::Active,
        "want|wanted|wanting|wana|wish|wishing to be dead",
    ),
    (Kind::Active, "wish i was|were dead"),
    (Kind::Active, "wish i could be dead"),
    (Kind::Active, "beter off dead"),
    (Kind::Active, "dont want to live"),
    (Kind::Active, "dont want to be alive"),
    (Kind::Active, "do not want to live"),
    (
        Kind::Active,
        "cut|cuting|burn|burning|burned|burnt|hurt|hurting|harm|harming|hit|hiting|starve|starving myself",
    ),
    (
        Kind::Active,
        "cut|cuting|burn|burning|hurt|hurting|harm|harming my self",
    ),
    (Kind::ActiveGeneric, "self harm*"),
    (Kind::ActiveGeneric, "selfharm*"),
    (Kind::Active, "how to kil|end myself|my"),
    (Kind::Active, "hang|hanging|hanged myself"),
    // "off myself" squeezes to "of myself", as in "proud of myself": only
    // after a word that makes it a verb.
    (
        Kind::Active,
        "to|wanna|gonna|would|could|might|will|just|gona|wana|ill|should of myself",
    ),
    // British "top myself": only after a word that makes it a wish or an
    // intent, as "hard to top myself" (to outdo) is not one.
    (
        Kind::Active,
        "wanna|gonna|wana|gona|ill|will|should|might|could top|toping myself",
    ),
    (Kind::Active, "want|wanted|going|need|ned to top myself"),
    (Kind::Active, "take|taking|took my own life"),
    // Self-harm in everyday words.
    (Kind::Active, "cut|cutting|cuts again"),
    (Kind::Active, "cut|cutting for the first time in"),
    (
        Kind::Active,
        "relapsed|relapse|relapsing ~2 sh|cut|cutting|selfharm|harm|self|burning|burn",
    ),
    (Kind::Active, "sh urge*|relapse*|again|scars"),
    // "sh'd with a pin", "been sh'ing every night".
    (Kind::Active, "shing"),
    (
        Kind::Active,
        "shd with|again|tonight|today|last|yesterday|earlier|twice|after",
    ),
    (Kind::Active, "urge|urges to cut|hurt|harm|burn|sh|bleed"),
    (Kind::Active, "urge|urges to end it|things|die"),
    // Self-harm with something named: "used a blade on myself", "carved
    // his name into my arm", "took a lighter to my wrist".
    (
        Kind::Active,
        "used|using|use|took|take|taking ~3 blade|razor|knife|glass|piece|shard|lighter|scissors|compass|sharpener ~2 on|to myself|me",
    ),
    (
        Kind::Active,
        "took|take|taking ~2 blade|razor|knife|lighter to my arm|arms|wrist|wrists|leg|legs|skin|thigh|thighs",
    ),
    (
        Kind::Active,
        "carved|carving|carve|scratched|scratching|etched ~3 into|in|on my arm|arms|leg|legs|skin|wrist|wrists|thigh|thighs|stomach|hip|hips",
    ),
    (Kind::Active, "wagon ~2 sh|selfharm|cutting|self"),
    (
        Kind::Active,
        "guts|courage|nerve to end it|things|myself|my",
    ),
    // A method asked about as a question: which high place has no barrier.
    (
        Kind::Active,
        "which|what|any ~2 bridge*|building*|roof*|cliff*|multi*|carpark* ~4 barriers|barrier|fences|fence|nets|railings|security",
    ),
    (
        Kind::Active,
        "want|wanna|wana|need|going|gonna|gona to cut|bleed $",
    ),
    (
        Kind::Active,
        "scratched|scratching|picked|picking|hit|hitting|punched|punching|burned|burnt ~4 till|until|til ~1 bled|bleed|bleeding|opened|bruised",
    ),
    (Kind::Active, "make|made|making myself bleed"),
    (
        Kind::Active,
        "scratched|scratching|scratch my ~1 arms|wrists|skin|legs up|again|raw|open",
    ),
    (Kind::ActiveGeneric, "want|wanted|wanting|ned to end things"),
    (Kind::Active, "want is to die"),
    (Kind::Active, "want|wana to be dead"),
    // Active, needs the writer as subject.
    (
        Kind::ActiveGeneric,
        "suicid*|sucid*|suicd*|sewerslide|unalived",
    ),
    (Kind::ActiveGeneric, "sewer slide"),
    (Kind::ActiveGeneric, "kms|unalive|unaliving"),
    // "ctb": catch the bus, forum shorthand.
    (Kind::ActiveGeneric, "ctb"),
    (Kind::ActiveGeneric, "just die already"),
    (
        Kind::ActiveGeneric,
        "covered in ~1 fresh|new|deep cuts|burns|scratches",
    ),
    (
        Kind::ActiveGeneric,
        "happy|willing|glad|content|prepared to die",
    ),
    (
        Kind::ActiveGeneric,
        "want|wanted|wanting|wish|ready|going to die",
    ),
    (Kind::ActiveGeneric, "wana|gona die"),
    (Kind::ActiveGeneric, "overdose|overdosing|overdosed"),
    (Kind::ActiveGeneric, "cant wait to die"),
    // Vague: needs a time, a plan or a goodbye.
    (Kind::Vague, "end|ending it"),
    (Kind::Vague, "end|ending things"),
    (Kind::Vague, "do|doing it"),
    (Kind::Vague, "go through with it"),
    // Passive.
    (Kind::Passive, "beter off ~1 without me"),
    (Kind::Passive, "beter off with someone|anyone else|another"),
    (Kind::Passive, "deserve|deserves|deserved ~1 better than me"),
    (
        Kind::Passive,
        "deserve|deserves|deserved ~1 a better ~2 than me",
    ),
    (Kind::Passive, "alive|living|existing|life ~3 a chore"),
    (Kind::Passive, "wont|never ~1 be happy anyway|ever"),
    (Kind::Passive, "beter without me"),
    (Kind::Passive, "favour|favor by not being|dying|leaving"),
    (Kind::Passive, "not being here|around ~1 anymore"),
    (Kind::Passive, "waste of space|oxygen|air"),
    (
        Kind::Passive,
        "hope|hoping|wish|wishing|want|mind|rather ~3 not|dont|never|wont wake|waking up",
    ),
    (Kind::Passive, "dont want to wake up $"),
    (
        Kind::Passive,
        "dont want to wake up anymore|again|tomorrow|ever",
    ),
    (Kind::Passive, "die|dying in my sleep"),
    (Kind::Passive, "attack|stroke|aneurysm ~3 in my sleep"),
    (
        Kind::Passive,
        "hoping|hope|wish|wishing|praying for a|an ~2 attack|aneurysm|stroke|accident",
    ),
    // "if i disappeared tomorrow the group chat would be fine".
    (
        Kind::Passive,
        "if i disappeared|vanished|died ~6 fine|notice|care|better|miss",
    ),
    (Kind::Passive, "no way out ~2 $"),
    (Kind::Passive, "feel|feeling|so ~2 trapped"),
    (
        Kind::Passive,
        "nothing ~2 ever ~3 better|change|changes|improve|improves",
    ),
    (
        Kind::Passive,
        "nothing ~2 going to ~1 better|change|improve",
    ),
    (Kind::Passive, "never ~1 be happy"),
    (
        Kind::Passive,
        "dont think ~2 ever ~1 be happy|better|okay|ok",
    ),
    (Kind::Passive, "dont|cant see ~1 future"),
    // "can't picture myself making it to 30", "never saw myself living
    // past 25".
    (
        Kind::Passive,
        "cant|dont|never|couldnt|cannot ~1 see|picture|imagine|saw myself making it to|past #",
    ),
    (
        Kind::Passive,
        "cant|dont|never|couldnt|cannot ~1 see|picture|imagine|saw myself living|alive|surviving past|beyond|to|til|until #",
    ),
    (
        Kind::Passive,
        "cant|dont|never|couldnt|cannot ~1 see|picture|imagine|saw myself ~1 growing|getting old",
    ),
    (Kind::Passive, "no future $"),
    (Kind::Passive, "no future for|left"),
    (Kind::Passive, "everything|life|all ~2 pointless"),
    (Kind::Passive, "whats the point $"),
    (Kind::Passive, "i give up $"),
    (
        Kind::Passive,
        "wish|want|wanna|wana|need|like|rather|could ~3 not|stop|quit exist|existing",
    ),
    (
        Kind::Passive,
        "hope|hoping|wish|wishing ~2 something|anything ~2 happens|happen to me",
    ),
    (Kind::Passive, "how much longer ~3 keep going"),
    (Kind::Passive, "how much longer ~3 go|hold on"),
    (Kind::Passive, "how much longer ~3 do|take this|it"),
    (Kind::Passive, "wouldnt mind ~2 not|never wake|waking up"),
    (Kind::Passive, "wouldnt mind ~2 if i died|didnt"),
    (
        Kind::Passive,
        "hit by a ~1 bus|car|train|truck ~4 wouldnt|not mind",
    ),
    (Kind::Passive, "cant keep going $"),
    (
        Kind::Passive,
        "dont|doesnt|wouldnt|didnt think anyone|anybody would ~1 care|notice|miss",
    ),
    (
        Kind::Passive,
        "dont|doesnt|wouldnt care ~1 if|whether i live|die",
    ),
    (Kind::Passive, "done with ~1 everything|life|living"),
    (Kind::Passive, "wish ~3 never ~1 born"),
    (
        Kind::Passive,
        "theyd|everyone|everybody|all|they ~2 be better off $",
    ),
    (Kind::Passive, "drain|burden on"),
    (Kind::Passive, "such a drain"),
    (
        Kind::Passive,
        "hope|hoping|wish|wishing ~3 hit by a ~1 bus|car|train|truck",
    ),
    (Kind::Passive, "bus|car|train|truck hit|hits|ran me ~5 mind"),
    (Kind::Passive, "hit by a ~1 bus|car|train|truck ~5 mind"),
    (Kind::Passive, "not be here ~1 anymore"),
    (Kind::Passive, "not be here $"),
    (
        Kind::Passive,
        "wish|want|wana|could|like|love|hoping ~3 fade|vanish|disappear",
    ),
    (Kind::Passive, "no light at the end"),
    (Kind::Passive, "love ~3 not|stop exist|existing"),
    (Kind::Passive, "no hope ~1 left|$"),
    (Kind::Passive, "given|gave up hoping|hope"),
    (Kind::Passive, "lost ~1 hope"),
    (Kind::Passive, "if i ~1 wasnt|werent here|around"),
    (
        Kind::Passive,
        "easier|better for everyone|everybody ~1 if i",
    ),
    (
        Kind::Passive,
        "dont|doesnt|didnt want to be here ~1 anymore",
    ),
    (Kind::Passive, "dont|doesnt|didnt want to be here $"),
    (
        Kind::Passive,
        "wouldnt|dont|wont care if i ~1 didnt|dont|never wake|woke up",
    ),
    (Kind::Passive, "if i ~4 never woke|wake up"),
    (Kind::Passive, "knackered|fed up ~1 of life|living|existing"),
    (Kind::Passive, "nothing ~2 ever ~3 goes right"),
    (Kind::Passive, "taking up space|oxygen|air"),
    (Kind::Passive, "point of|in me"),
    (Kind::Passive, "dont think i can go on"),
    (Kind::Passive, "dont think i can keep going"),
    (Kind::Passive, "cant see a way forward|out"),
    (Kind::Passive, "had enough of living|life|existing"),
    (Kind::Passive, "cant do this any more"),
    (Kind::Passive, "cant take it|this any more"),
    (Kind::Passive, "beter off if i|im"),
    (Kind::Passive, "wish|want ~3 disappear|vanish|evaporate"),
    (
        Kind::Passive,
        "point of|in being|living|life|trying|anything|going|existing",
    ),
    (
        Kind::Passive,
        "no point ~1 living|trying|anything|going|existing|being",
    ),
    (Kind::Passive, "dont see the point"),
    (Kind::Passive, "whats the point ~2 anymore"),
    (Kind::Passive, "burden"),
    (Kind::Passive, "cant keep doing|going ~1 this|on"),
    (Kind::Passive, "cant go on"),
    (Kind::Passive, "cant do this ~1 anymore"),
    (Kind::Passive, "cant take it|this ~1 anymore"),
    (Kind::Passive, "nothing left for me"),
    (Kind::Passive, "nothing to live for"),
    (Kind::Passive, "no reason to live"),
    (Kind::Passive, "nobody|noone would ~1 miss|care|notice|come"),
    (Kind::Passive, "no one would ~1 miss|care|notice|come"),
    (Kind::Passive, "nobody|noone cares"),
    (Kind::Passive, "no one cares"),
    (Kind::Passive, "if i was|were gone"),
    (Kind::Passive, "never get|be|going ~1 beter"),
    (Kind::Passive, "not|never wake up $"),
    (
        Kind::Passive,
        "not|never wake up again|anymore|tomorrow|ever",
    ),
    (Kind::Passive, "sleep forever"),
    (
        Kind::Passive,
        "exhausted|tired|sick by|of life|living|existing|being|fighting",
    ),
    (Kind::Passive, "hopeles*"),
    (Kind::Passive, "wish i was|were|had never|not ~1 born"),
    (Kind::Passive, "wish i didnt exist"),
    (Kind::Passive, "dont want to exist"),
    (Kind::Passive, "dont want to be here ~1 anymore"),
    (Kind::Passive, "hate my life"),
    (Kind::Passive, "hate being alive"),
    (Kind::Passive, "want it all to stop|end"),
    (Kind::Passive, "want everything to stop|end"),
    (Kind::Passive, "give up on ~1 life|everything"),
    // Goodbyes.
    // "This is my last week at work" is not a goodbye: what is last is said.
    (
        Kind::FarewellStrong,
        "this ~2 my last message|post|words|goodbye|note",
    ),
    (Kind::FarewellStrong, "my last goodbye"),
    (Kind::FarewellStrong, "final goodbye"),
    (
        Kind::FarewellStrong,
        "giving|gave away my|al ~1 things|stuf|belongings|posesions",
    ),
    (Kind::FarewellStrong, "suicide note"),
    (Kind::FarewellStrong, "nice knowing"),
    (Kind::FarewellStrong, "this is goodbye"),
    (Kind::FarewellStrong, "if ~2 reading this ~2 gone|dead"),
    (
        Kind::FarewellStrong,
        "by the time ~2 read|reads this|them|it",
    ),
    (Kind::FarewellStrong, "if ~2 reading this ~4 done it"),
    (Kind::Absence, "sleep for good"),
    (Kind::FarewellWeak, "my last meal"),
    (
        Kind::FarewellWeak,
        "thanks|cheers for all the ~1 laughs|memories",
    ),
    (
        Kind::FarewellWeak,
        "thank you for all the ~1 laughs|memories",
    ),
    (Kind::FarewellStrong, "after|when|once im gone|dead"),
    (Kind::FarewellStrong, "dont look for me"),
    (Kind::FarewellStrong, "dont come looking for me"),
    (Kind::FarewellStrong, "logging|signing off forever"),
    (Kind::FarewellStrong, "logging|signing off for good"),
    (Kind::FarewellStrong, "logging|signing off permanently"),
    (Kind::FarewellStrong, "wont need ~2 where im going"),
    (Kind::FarewellStrong, "goodbye|godbye|bye forever"),
    (Kind::FarewellWeak, "goodbye|godbye|farewel"),
    (Kind::FarewellWeak, "saying|said|say bye|goodbye"),
    (
        Kind::FarewellWeak,
        "bye ~1 everyone|everybody|all|guys|server|forever",
    ),
    (Kind::FarewellWeak, "sorry everyone|everybody|all|guys"),
    (Kind::FarewellWeak, "love you all"),
    (Kind::FarewellWeak, "im so sorry $"),
    (Kind::FarewellWeak, "final|last message|post|words|goodbye"),
    (
        Kind::FarewellWeak,
        "one last chat|message|post|goodbye|time",
    ),
    (
        Kind::FarewellWeak,
        "tell ~1 my|our ~1 mum|mom|dad|family|kids|parents|sister|brother|wife|husband|partner|girlfriend|boyfriend ~2 loved|love|sorry",
    ),
    (
        Kind::FarewellWeak,
        "tell mum|mom|mam|mummy|mommy|dad|daddy ~2 love|loved|sorry",
    ),
    (
        Kind::FarewellWeak,
        "take care of ~1 yourselves|urselves|eachother",
    ),
    (Kind::FarewellWeak, "take care of each other"),
    (Kind::FarewellWeak, "bye $"),
    (Kind::FarewellWeak, "my last message|post|words"),
    (Kind::FarewellWeak, "thank you for everything"),
    (Kind::FarewellWeak, "thanks for everything|listening"),
    (Kind::FarewellWeak, "thank you for listening"),
    (Kind::FarewellWeak, "thank you|thanks for the last"),
    (
        Kind::FarewellWeak,
        "just wanted to say thanks|thank|bye|goodbye",
    ),
    (
        Kind::FarewellWeak,
        "wanted someone|everyone|people|you to know",
    ),
    (
        Kind::Letters,
        "letters|letter|note|notes to|for my|everyone|everybody|mum|mom|dad|family",
    ),
    (
        Kind::Letters,
        "writen|wrote|writing ~2 leters|leter|note|notes",
    ),
    (Kind::Absence, "wont be around|here"),
    (Kind::Absence, "wil not be around|here"),
    (Kind::Absence, "not coming back"),
    (
        Kind::Absence,
        "wont need ~1 anything|it|them|em|my ~2 after",
    ),
    (
        Kind::Absence,
        "deleting|deleted|wiped|wiping my|all ~2 accounts|account|socials|profiles|history",
    ),
    (Kind::Absence, "not driving|walking|swimming back"),
    (Kind::Absence, "ill be gone by|before"),
    (Kind::Absence, "i wil be gone by|before"),
    // Acts in progress.
    (
        Kind::Act,
        "just took|swalowed|taken|drank ~3 pils|tablets|pil|bottle|handful",
    ),
    (
        Kind::Act,
        "swalowed|took|taken ~2 handful|bottle|al my|al the",
    ),
    (
        Kind::Act,
        "took|taken|swallowed|downed|taking ~3 all|bunch|whole|everything|entire|lot|many|extra|# ~4 pills|tablets|meds|medication|medicine|bottle|cabinet|painkillers|prescription|prescriptions",
    ),
    // "took a load of my sleeping pills", "took what was left of my
    // prescription", "took the whole strip".
    (
        Kind::Act,
        "took|swallowed|downed ~3 load|loads|rest|left|handful|heap|pile ~4 pills|tablets|meds|prescription|painkillers|sleeping|medication",
    ),
    (
        Kind::Act,
        "took|swallowed|downed the|a whole|full|entire ~1 strip|strips|packet|packets|pack|box|blister|tub",
    ),
    (Kind::Act, "cut ~3 too deep"),
    // "burned my arm on the stove on purpose".
    (
        Kind::Active,
        "burned|burnt|burn|cut|hit|punched|scratched|scalded|bashed ~6 on purpose",
    ),
    (Kind::Active, "sh|selfharm episode|episodes|session"),
    (Kind::Active, "another sh"),
    (Kind::Act, "wont stop bleeding"),
    // Boosters.
    (
        Kind::Time,
        "tonight|tonights|tomorow|midnight|friday|saturday|sunday|monday|tuesday|wednesday|thursday|weekend",
    ),
    (Kind::Time, "right now"),
    (Kind::Time, "after everyone"),
    (Kind::Time, "in an hour"),
    (Kind::Time, "this evening|weekend"),
    (Kind::Time, "counting down"),
    (Kind::Time, "t|tee minus"),
    (Kind::Time, "new years eve|day"),
    (Kind::Time, "christmas eve|day"),
    (Kind::Time, "on my birthday"),
    (Kind::Time, "after tonight|today|this"),
    (Kind::Time, "once|when it gets dark"),
    (Kind::Now, "now"),
    (Kind::Ready, "im ready"),
    (Kind::Ready, "i am ready"),
    (Kind::GiveAway, "whoever wants my"),
    (Kind::GiveAway, "can have my"),
    (Kind::GiveAway, "gave|giving|give ~1 my ~2 to"),
    (
        Kind::PlaceAt,
        "on|at|standing|stood|up|near|sat|sitting|to the ~1 bridge*|track*|roof*|ledge*|cliff*|platform*|edge|railway|multi*|overpass*|quarry|viaduct*|pier",
    ),
    (
        Kind::PlaceAt,
        "top of the|a ~2 bridge*|building|roof*|multi*|carpark|tower|cliff*",
    ),
    (Kind::Plan, "everything is sorted|ready|planed|set"),
    (Kind::Plan, "everythings sorted|ready|planed|set"),
    (Kind::Plan, "have|got everything i ned"),
    (Kind::Plan, "have|got|made a plan"),
    (Kind::Plan, "decided"),
    (Kind::Plan, "made up my mind"),
    (Kind::Plan, "plan is set|ready|made"),
    (Kind::Plan, "picked the|a spot|place|day|date"),
    (Kind::Plan, "set a date"),
    (Kind::Plan, "its happening"),
    (Kind::Plan, "i mean it this time"),
    (Kind::Plan, "planing|planed"),
    (Kind::Stash, "pils|tablets ready|stockpiled|saved|colected"),
    (Kind::Stash, "got|have the|al ~1 pils|tablets"),
    (Kind::Stash, "emojipills|emojiknife|emojigun|emojirope"),
    (Kind::Stash, "bought|got|have the|a rope"),
    (Kind::Stash, "pills|tablets|meds ~2 counted|lined|laid"),
    (
        Kind::Stash,
        "saved|stockpiled|stockpiling|saving|hoarded|hoarding ~2 meds|pills|tablets|medication|painkillers",
    ),
    (Kind::Stash, "with a|the blade|knife|razor"),
    (Kind::Stash, "the blade|razor|knife is out|ready|here"),
    (Kind::Stash, "a|the rope in|under|ready"),
    (Kind::Plan, "bought|got|have what i need"),
    (Kind::Plan, "tying|tie|tied up ~1 loose ends"),
    (Kind::Plan, "loose ends ~1 tied|sorted|done|dealt"),
    (Kind::Vague, "it ends $"),
    (Kind::Vague, "it all ends"),
    (Kind::Ready, "not scared|afraid anymore"),
    (Kind::Stash, "rope|ropes ~1 tied|ready|up"),
    (Kind::Stash, "took|got the|my blade|blades|razor out"),
    (
        Kind::PlaceAt,
        "climbing|climbed|climb ~1 over ~1 the railing|railings|balcony|ledge|parapet",
    ),
    (
        Kind::PlaceAt,
        "walk|walking|step|stepping|run|running into traffic",
    ),
    (
        Kind::Letters,
        "playlist|songs|music|plans for my ~1 funeral",
    ),
    // "e-x-i-t plan": needs a time, a plan or a goodbye, as "end it" does.
    (Kind::Vague, "exit plan|strategy"),
    (
        Kind::Took,
        "took|taken|swallowed the|my ~1 pills|tablets|meds",
    ),
    (Kind::Took, "drank|downed a bottle"),
    (
        Kind::Act,
        "drank|drunk|swallowed|downed|drinking ~4 bleach|antifreeze|weedkiller|poison",
    ),
    (
        Kind::Act,
        "mixed|mixing ~3 pills|tablets|meds|painkillers with ~1 vodka|alcohol|wine|booze|whisky|whiskey|gin|drink|beer",
    ),
    (
        Kind::PlaceAt,
        "walk|walking|swim|swimming|wade|wading ~2 into|out the ~1 water|sea|ocean|river|lake|waves",
    ),
    (
        Kind::Place,
        "rof|bridge|ledge|clif|edge|window|building|tracks",
    ),
    (Kind::Intent, "going|about|planing|ready|decided to"),
    (Kind::Intent, "gona"),
    (Kind::Intent, "im taking"),
    (Kind::Intent, "taking them"),
    (Kind::Intent, "using|use it"),
    (Kind::Jump, "jump|jumping"),
    // Detection reads English. A few plain phrases in other languages
    // that members switch to are a safety net beside it, not a reading of
    // those languages: a wish to die or to kill oneself, not waking up,
    // and "tonight".
    // Spanish.
    (
        Kind::Active,
        "quiero|kiero morir|morirme|matarme|suicidarme",
    ),
    (Kind::Active, "me quiero morir|matar|suicidar"),
    (Kind::Active, "me voy a matar|suicidar"),
    (Kind::Active, "ganas de morir|morirme|matarme"),
    (Kind::Active, "quitarme la vida"),
    (Kind::Active, "acabar con mi vida"),
    (Kind::Active, "no quiero ~1 vivir|viviendo"),
    (Kind::Passive, "no quiero despertar"),
    // Portuguese.
    (Kind::Active, "quero morrer"),
    (Kind::Active, "quero|vou me matar"),
    (Kind::Active, "vontade de morrer"),
    (Kind::Active, "tirar a minha vida"),
    (Kind::Active, "acabar com a minha vida"),
    (Kind::Active, "nao|não quero ~1 viver"),
    (Kind::Passive, "nao|não quero acordar"),
    // French.
    (Kind::Active, "veux mourir"),
    (Kind::Active, "envie de mourir|crever"),
    (Kind::Active, "veux|vais|voudrais me tuer|suicider"),
    (Kind::Active, "me suicider"),
    (Kind::Active, "veux plus vivre"),
    (Kind::Active, "mettre fin a|à mes jours"),
    (Kind::Passive, "plus me reveiller|réveiller"),
    // German.
    (Kind::Active, "will|mochte|möchte|moechte sterben"),
    (
        Kind::Active,
        "will|werde|mochte|möchte mich umbringen|toten|töten",
    ),
    (Kind::Active, "mich ~1 umbringen|toten|töten will"),
    (Kind::Active, "will nicht mehr leben"),
    (Kind::Active, "mir das leben nehmen"),
    (Kind::Passive, "nicht mehr aufwachen"),
    // Italian.
    (Kind::Active, "voglio morire"),
    (Kind::Active, "uccidermi|ammazzarmi|suicidarmi"),
    // Tagalog.
    (Kind::Active, "gusto ko ~1 nang|na mamatay"),
    (Kind::Active, "magpakamatay"),
    (Kind::Active, "ayoko ~1 nang|na mabuhay"),
    (Kind::Passive, "ayoko ~1 nang|na gumising"),
    // Hindi and Urdu, in Latin letters.
    (Kind::Active, "marna hai|chahta|chahti"),
    (Kind::Active, "mar jana|jaana|jaun|jaaun"),
    (Kind::Active, "khudkushi|aatmahatya|atmahatya"),
    (Kind::Active, "jeena nahi|nahin chahta|chahti"),
    (Kind::Active, "khud ko ~1 maar|khatam"),
    // Turkish.
    (Kind::Active, "olmek|ölmek istiyorum"),
    (Kind::Active, "kendimi oldur*|öldür*"),
    (Kind::Active, "yasamak|yaşamak istemiyorum"),
    // Indonesian and Malay.
    (Kind::Active, "ingin|pengen|nak mati"),
    (Kind::Active, "mau|ingin|pengen|mo|nak bunuh diri"),
    // Dutch, Polish, Swahili, Russian.
    (Kind::Active, "ik wil dood"),
    (Kind::Active, "wil niet meer leven"),
    (Kind::Active, "chce|chcę umrzec|umrzeć"),
    (Kind::Active, "zabic|zabić sie|się"),
    (Kind::Active, "nataka kufa"),
    (Kind::Active, "kujiua"),
    (Kind::Active, "хочу умереть"),
    (Kind::Active, "покончить с собой"),
    (Kind::Active, "убить себя"),
    (Kind::Active, "не хочу жить"),
    // "Tonight", for the phrases above.
    (Kind::Time, "esta noche"),
    (Kind::Time, "heute nacht|abend"),
    (Kind::Time, "ce soir"),
    (Kind::Time, "stanotte"),
    (Kind::Time, "ngayong gabi"),
    (Kind::Time, "aaj raat"),
    (Kind::Time, "bu gece"),
    (Kind::Time, "malam ini"),
];

/// Words that, just before a signal, negate it.
const NEGATORS: &[&str] = &[
    "not", "never", "no", "dont", "wont", "wouldnt", "isnt", "arent", "nor", "without", "stopped",
    // Before the few phrases in other languages ("nahi marna hai").
    "nao", "não", "nahi", "nahin",
];
/// Subjects that make a generic signal about someone else.
const OTHERS: &[&str] = &[
    "youre",
    "he",
    "she",
    "they",
    "hes",
    "shes",
    "theyre",
    "his",
    "her",
    "their",
    "them",
    "him",
    "friend",
    "friends",
    "brother",
    "sister",
    "mum",
    "mom",
    "dad",
    "mother",
    "father",
    "uncle",
    "aunt",
    "cousin",
    "son",
    "daughter",
    "husband",
    "wife",
    "partner",
    "boyfriend",
    "girlfriend",
    // "he'd" and "she'd" (squeezed as the garden shed is). Not "they'd":
    // "they'd all be better off" is about the writer.
    "hed",
    "shed",
    "nephew",
    "niece",
    "child",
    "villain",
    "narrator",
    "protagonist",
    "someone",
    "somebody",
    "people",
    "person",
    "man",
    "woman",
    "character",
    "poem",
    "song",
    "film",
    "movie",
    "book",
    "show",
    "news",
    "article",
    "story",
    "author",
    "singer",
    "we",
    "you",
    "us",
    "kid",
    "kids",
    "student",
    "students",
    "patient",
    "client",
    "therapist",
    "doctor",
    "counsellor",
    "counselor",
    "nurse",
    "teacher",
    "boss",
    "mate",
    "flatmate",
    "roommate",
    "colleague",
    "coworker",
    "neighbour",
    "neighbor",
    "grandma",
    "grandad",
    "grandpa",
    "nan",
    "podcast",
    "episode",
    "documentary",
    "series",
    "video",
    "lecture",
    "campaign",
    "charity",
];
/// Someone else as the subject of an act ("they just took"); never a
/// possessive ("my dad's gun").
const SUBJECTS_OTHER: &[&str] = &[
    "he", "she", "they", "hes", "shes", "theyre", "theyve", "someone", "somebody",
];
/// Subjects that make a generic signal about the writer.
const SELF: &[&str] = &["i", "im", "ive", "id", "ill", "me", "my", "myself", "mine"];
/// Words after "suicide" that make it a topic, not a feeling.
const TOPIC_AFTER: &[&str] = &[
    "prevention",
    "awareness",
    "hotline",
    "helpline",
    "line",
    "lines",
    "rate",
    "rates",
    "statistics",
    "stats",
    "research",
    "training",
    "squad",
    "month",
    "risk",
    "assessment",
    "assessments",
    "intervention",
    "crisis",
    "talk",
    "guidelines",
    "call",
    "calls",
    "scenario",
    "story",
    "stories",
    "news",
    "headlines",
    "case",
];
/// Words just before the noun "suicide" or "self harm" that make it the
/// subject of a piece of work, not the writer's own ("the theme of
/// suicide in Hamlet", "my dissertation is on suicide risk").
const TOPIC_BEFORE: &[&str] = &[
    "theme",
    "themes",
    "topic",
    "essay",
    "dissertation",
    "thesis",
    "module",
    "lecture",
    "assignment",
    "coursework",
    "novel",
    "representations",
    "representation",
    "depiction",
    "depictions",
    "portrayal",
    "documentary",
    "article",
    "theory",
    "theories",
    "unit",
    "assembly",
    "coverage",
    "presentation",
    "prevent",
    "preventing",
    "prevention",
    "guidelines",
    "workshop",
    "posting",
    "discussing",
    "discussion",
];
/// Words that make a signal near them a word talked about, not said:
/// "the word suicide", "words like kms", "the whole unalive algospeak
/// thing", "i want to die memes".
const WORD_TALK: &[&str] = &[
    "word",
    "words",
    "term",
    "terms",
    "algospeak",
    "spelled",
    "spelt",
    "vocab",
    "vocabulary",
    "meme",
    "memes",
    "slang",
    "translation",
    "translates",
    "abbreviation",
    "acronym",
    "difference",
    "instead",
];
/// The same, only before the signal ("Selbstmord means suicide").
const WORD_TALK_BEFORE: &[&str] = &["means", "meaning", "say", "short", "stands"];
/// The same, only just after it ("i want to die posts get a DM").
const WORD_TALK_AFTER: &[&str] = &[
    "posts", "trend", "jokes", "meaning", "means", "mean", "stands", "stand", "short",
];
/// Where one might wish to disappear for a while: into a book, to an
/// island.
const ESCAPES: &[&str] = &[
    "book", "books", "novel", "game", "games", "film", "movie", "show", "series", "cabin",
    "island", "holiday", "vacation", "duvet", "blanket", "covers", "bed", "hobbit", "shire",
];
/// Phrases that mean the writer is asking how to help someone else.
const HELPING: &[&str] = &[
    "help a friend",
    "help my friend",
    "help someone",
    "help somebody",
    "support a friend",
    "support my friend",
    "asking for a friend",
    "for a friend",
    "how do i help",
    "how can i help",
    "how to help",
    "what do i say to",
    "what should i say to",
    "how do i reassure",
    "how can i reassure",
];
/// Past-tense markers, and words saying things are better now.
const PAST: &[&str] = &[
    "was", "were", "used", "ago", "had", "back", "college", "teen", "teenager", "school", "once",
    "year", "years", "yrs",
];
const RECOVERY: &[&str] = &[
    "beter",
    "recovered",
    "recovery",
    "helped",
    "survived",
    "past",
    "healed",
    "okay",
    "fine",
    "good",
    "well",
    "clean",
    "proud",
    "happier",
    "stable",
    "faded",
    "glad",
    "grateful",
    "thankful",
    "thriving",
    "improved",
    "improving",
    "happy",
    "happily",
];
/// Words that report a question put to the writer ("my GP asked if I had
/// thought about suicide").
const ASKED: &[&str] = &["asked", "asks", "question", "questions", "questionnaire"];
/// A form or screening whose questions are answered ("on the survey,
/// thoughts of hurting myself: not at all").
const FORMS: &[&str] = &[
    "survey",
    "questionnaire",
    "form",
    "screening",
    "screener",
    "phq",
    "checklist",
];
/// Answers that say no to such a question (see [`answered_no`]).
const ANSWER_NO: &[&str] = &[
    "no", "nope", "not", "havent", "hadnt", "didnt", "dont", "wasnt",
];
/// Whether the writer's answer to a question just reported is a plain
/// no: the rest of the question's sentence (or, when that is empty, the
/// next sentence) is nothing but "no", "i haven't", "and i said no", and
/// a no in the question's sentence is not taken back by the next one
/// ("but i lied"). Anything more is not read as
/// an answer: "no one gets it", "i haven't told anyone how bad it is",
/// "i couldn't say no", "not yet" all still alert.
fn answered_no(rest: &[&str]) -> bool {
    let sentence =
        |from: &[&str]| -> usize { from.iter().position(|t| *t == ".").unwrap_or(from.len()) };
    let this = &rest[..sentence(rest)];
    let next = rest.get(this.len() + 1..).unwrap_or(&[]);
    let next = &next[..sentence(next)];
    // "…and i could honestly say no. just tired": a no in the question's
    // own sentence counts when the next one does not take it back.
    // "i scored 0 on that one": a screening item answered no.
    let scored_nil = |s: &[&str]| {
        s.windows(2).any(|w| {
            listed(&["scored", "score", "answered"], w[0]) && listed(&["0", "zero", "nil"], w[1])
        })
    };
    if scored_nil(this) || scored_nil(next) {
        return true;
    }
    if !this.is_empty() {
        // "…and for the first time in years i could honestly say no":
        // a sentence that ends in saying no, with no "couldn't" or
        // "never" before it.
        let said_no = this.len() >= 2
            && matches!(this[this.len() - 2], "say" | "said" | "answer" | "answered")
            && this[this.len() - 1] == "no"
            && !this[this.len().saturating_sub(5)..this.len() - 2]
                .iter()
                .any(|t| listed(NEGATORS, t) || listed(&["couldnt", "cant", "cannot", "wont"], t));
        // "i lied and said no" takes it back in the same sentence.
        let said_no = said_no && !this.iter().any(|t| listed(TAKEN_BACK, t));
        return (plain_no(this) || said_no) && !next.iter().any(|t| listed(TAKEN_BACK, t));
    }
    plain_no(next)
}

/// Words that lead into an answer: "and i said", "these days i can
/// honestly say".
const ANSWER_LEAD: &[&str] = &[
    "and",
    "but",
    "so",
    "i",
    "said",
    "told",
    "her",
    "him",
    "them",
    "could",
    "can",
    "honestly",
    "truthfully",
    "finally",
    "say",
    "these",
    "days",
    "now",
    "nowadays",
];
/// Words that may close a plain no: "not at all", "not anymore", "no
/// and i meant it".
const ANSWER_TAIL: &[&str] = &[
    "at", "all", "anymore", "and", "i", "meant", "it", "truly", "honestly",
];
/// Words in the next sentence that take a "no" back ("but i lied").
const TAKEN_BACK: &[&str] = &[
    "lied", "lie", "lying", "yes", "but", "actually", "truth", "really",
];
/// Whether an answer is nothing but a no: "no", "i haven't", "and i
/// said no", "i can honestly say no".
fn plain_no(answer: &[&str]) -> bool {
    let mut words: Vec<&str> = answer
        .iter()
        .copied()
        .skip_while(|t| listed(ANSWER_LEAD, t))
        .collect();
    // "not at all", "not anymore", "no and i meant it": the same no.
    while words.len() > 1 && words.last().is_some_and(|t| listed(ANSWER_TAIL, t)) {
        words.pop();
    }
    words.len() <= 2
        && words.first().is_some_and(|t| listed(ANSWER_NO, t))
        && !words
            .iter()
            .any(|t| matches!(*t, "yes" | "yet" | "one" | "body"))
}
/// Words that introduce a song's words.
const LYRIC: &[&str] = &[
    "lyric", "lyrics", "sings", "sang", "singing", "chorus", "verse",
];
/// What one dies "of" in an idiom in other languages ("morir de risa",
/// "mourir de rire", "morrer de fome": of laughter, hunger, boredom...).
const IDIOM_OF: &[&str] = &[
    "risa",
    "rir",
    "rire",
    "ridere",
    "hambre",
    "fome",
    "faim",
    "fame",
    "sueno",
    "sueño",
    "sono",
    "calor",
    "chaleur",
    "caldo",
    "frio",
    "frío",
    "froid",
    "freddo",
    "aburrimiento",
    "tedio",
    "tédio",
    "ennui",
    "noia",
    "verguenza",
    "vergüenza",
    "vergonha",
    "honte",
    "vergogna",
    "envidia",
    "inveja",
    "ganas",
    "amor",
    "amour",
    "saudade",
];
/// Laughter that makes "i want to die" a figure of speech.
const LAUGHING: &[&str] = &[
    "emojilaugh",
    "lmao",
    "lmfao",
    "haha",
    "hahaha",
    "rofl",
    "omg",
];
/// Words that take back what was just said as a joke: "jk", "joking".
const JOKING: &[&str] = &["jk", "jking", "joking", "jokin", "kidding", "kiding"];
/// Words before a joke word that make it no joke: "not joking", "only
/// half kidding".
const NOT_JOKING: &[&str] = &[
    "not", "no", "never", "isnt", "wasnt", "aint", "half", "partly", "kinda", "semi", "only",
    "dont",
];

/// Whether a sentence takes itself back as a joke: a joke word with no
/// "not" or "half" just before it, not what someone thinks or says ("my
/// friends think i'm joking"), no "but" just after it ("joking but i'm
/// not"), and no "unless" after it.
fn taken_back_as_joke(clause: &[&str]) -> bool {
    clause.iter().enumerate().any(|(i, t)| {
        listed(JOKING, t)
            && !clause[i.saturating_sub(2)..i]
                .iter()
                .any(|b| listed(NOT_JOKING, b))
            && !clause[i.saturating_sub(4)..i].iter().any(|b| {
                listed(
                    &[
                        "think", "thinks", "thought", "say", "says", "said", "assume", "assumes",
                    ],
                    b,
                )
            })
            && !clause[i + 1..clause.len().min(i + 4)]
                .iter()
                .any(|a| listed(&["but", "not"], a))
    }) && !clause.iter().any(|t| squeezed_eq("unless", t))
}

/// Things one may "unalive" in a joke: "unalive my laptop".
const THINGS: &[&str] = &[
    "laptop",
    "computer",
    "pc",
    "phone",
    "printer",
    "alarm",
    "wifi",
    "router",
    "code",
    "plant",
    "plants",
    "car",
    "tv",
    "homework",
    "essay",
    "boss",
    "teacher",
    "neighbour",
    "neighbor",
];

/// What one is hopeless about when it is not life ("hopeless at maths").
const NOT_LIFE: &[&str] = &["at", "about", "with", "when"];
/// Words after "overdosed on" that make it a real overdose; anything else
/// ("overdosed on cookies") is a figure of speech.
const DRUGS: &[&str] = &[
    "my",
    "pills",
    "pill",
    "tablets",
    "meds",
    "medication",
    "medicine",
    "sleeping",
    "pain",
    "painkillers",
    "drugs",
    "insulin",
    "paracetamol",
    "tylenol",
    "heroin",
    "antidepressants",
    "alcohol",
    "them",
    "it",
    "something",
];
/// Objects that show a generic signal is about someone or something else
/// ("my laptop unalived itself").
const OBJECTS: &[&str] = &[
    "itself",
    "himself",
    "herself",
    "themselves",
    "yourself",
    "him",
    "her",
    "them",
];

#[derive(Debug)]
struct Pattern {
    kind: Kind,
    slots: Vec<Slot>,
}

#[derive(Debug)]
enum Slot {
    Words(Vec<Word>),
    Gap(usize),
    /// The end of the sentence; takes no word.
    End,
}

#[derive(Debug)]
enum Word {
    Exact(String, Key),
    Prefix(String, Key),
    /// A number of 10 or more ("took 30 of my pills").
    Many,
}

impl Word {
    /// Whether `token` (whose key is `key`) is this word.
    fn matches(&self, token: &str, key: Key) -> bool {
        match self {
            Word::Exact(w, k) => k.same(w, key, token),
            Word::Prefix(p, k) => k.starts(p, key, token),
            Word::Many => {
                token.len() >= 2
                    && token.bytes().all(|b| b.is_ascii_digit())
                    && token.trim_start_matches('0').len() >= 2
            }
        }
    }
}

#[derive(Debug)]
pub(super) struct Lexicon {
    patterns: Vec<Pattern>,
    /// Patterns by the exact words their first slot accepts, bucketed by
    /// first byte and length ([`bucket`]): each token compares itself with
    /// the one or two words of its bucket, not the whole first-word list.
    by_first: Vec<Vec<(String, Key, usize)>>,
    /// Patterns whose first slot has a prefix word, bucketed by first byte.
    by_prefix: Vec<Vec<(String, Key, usize)>>,
    /// The helping phrases, squeezed, as words.
    helping: Vec<Vec<String>>,
    /// Anchor words, bucketed like `by_first`: every pattern has a slot
    /// whose every word is here, so a message with none of them cannot
    /// match any pattern (see [`Lexicon::surely_quiet`]).
    anchors: Vec<Vec<(String, Key)>>,
    /// Anchor prefixes (from `suicid*` and the like), by first byte.
    anchor_prefixes: Vec<Vec<(String, Key)>>,
}

/// The commonest words of all: a slot with one of these is a last resort.
const VERY_COMMON: &[&str] = &[
    "i", "a", "the", "my", "to", "me", "it", "is", "was", "of", "in", "on", "at", "and", "so",
    "be", "have", "had", "all", "for", "with", "this", "that", "im", "just", "not", "no", "dont",
    "do", "you", "we", "they", "if", "what", "up", "out", "like", "can", "an", "by", "or", "as",
    "are", "am", "been", "but", "its", "your", "our", "he", "she", "him", "her", "them", "his",
    "their", "anyone", "anybody",
];

/// Everyday words that make poor anchors: a pattern's anchor slot is one
/// with as few of these as it can have.
const COMMON: &[&str] = &[
    "thanks",
    "cheers",
    "i",
    "a",
    "the",
    "my",
    "to",
    "me",
    "it",
    "is",
    "was",
    "of",
    "in",
    "on",
    "at",
    "and",
    "so",
    "be",
    "have",
    "had",
    "all",
    "for",
    "with",
    "this",
    "that",
    "im",
    "just",
    "not",
    "no",
    "dont",
    "cant",
    "do",
    "get",
    "got",
    "what",
    "if",
    "you",
    "we",
    "they",
    "up",
    "out",
    "like",
    "about",
    "would",
    "could",
    "will",
    "going",
    "go",
    "feel",
    "want",
    "think",
    "one",
    "time",
    "last",
    "said",
    "say",
    "now",
    "right",
    "can",
    "been",
    "are",
    "am",
    "an",
    "by",
    "or",
    "as",
    "from",
    "there",
    "their",
    "here",
    "more",
    "ever",
    "never",
    "every",
    "everyone",
    "anything",
    "nothing",
    "something",
    "some",
    "any",
    "really",
    "know",
    "thanks",
    "thank",
    "good",
    "day",
    "today",
    "week",
    "back",
    "after",
    "off",
    "over",
    "still",
    "much",
    "too",
    "very",
    "make",
    "made",
    "see",
    "need",
    "keep",
    "way",
    "when",
    "once",
    "who",
    "how",
    "why",
    "did",
    "help",
    "helped",
    "people",
    "things",
    "thing",
    "friend",
    "friends",
    "home",
    "work",
    "hard",
    "bit",
    "new",
    "old",
    "our",
    "your",
    "his",
    "her",
    "them",
    "him",
    "she",
    "he",
    "its",
    "new",
    "let",
    "take",
    "took",
    "give",
    "gave",
    "done",
    "sorry",
    "love",
    "care",
    "each",
    "other",
    "until",
    // Verbs of patterns whose other words make better anchors ("walk ~2
    // into the water", "used a blade on myself").
    "walk",
    "walking",
    "use",
    "used",
    "using",
    "taking",
];

/// The longest word the quick check reads; longer ones take the full path.
const QUICK_WORD: usize = 24;

/// One pattern found at `start..end` (token indexes).
#[derive(Debug, Clone, Copy)]
struct Found {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Lexicon {
    pub(super) fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| {
            let patterns: Vec<Pattern> = PATTERNS
                .iter()
                .map(|&(kind, text)| Pattern {
                    kind,
                    slots: text
                        .split(' ')
                        .map(|slot| match slot.strip_prefix('~') {
                            Some(n) => Slot::Gap(n.parse().expect("gap size")),
                            None if slot == "$" => Slot::End,
                            None => Slot::Words(
                                slot.split('|')
                                    .map(|w| match w.strip_suffix('*') {
                                        Some(p) => {
                                            let p = squeeze(&as_read(p));
                                            let k = Key::of(&p);
                                            Word::Prefix(p, k)
                                        }
                                        None if w == "#" => Word::Many,
                                        None => {
                                            let w = squeeze(&as_read(w));
                                            let k = Key::of(&w);
                                            Word::Exact(w, k)
                                        }
                                    })
                                    .collect(),
                            ),
                        })
                        .collect(),
                })
                .collect();
            let mut by_first: Vec<Vec<(String, Key, usize)>> = vec![Vec::new(); 256 * 16];
            let mut by_prefix: Vec<Vec<(String, Key, usize)>> = vec![Vec::new(); 256];
            for (i, p) in patterns.iter().enumerate() {
                let Some(Slot::Words(words)) = p.slots.first() else {
                    panic!("a pattern must start with words");
                };
                for w in words {
                    match w {
                        Word::Exact(w, k) => by_first[bucket(w)].push((w.clone(), *k, i)),
                        Word::Prefix(p, k) => {
                            by_prefix[usize::from(p.as_bytes()[0])].push((p.clone(), *k, i))
                        }
                        Word::Many => panic!("a pattern must not start with a number"),
                    }
                }
            }
            let helping = HELPING
                .iter()
                .map(|h| h.split(' ').map(squeeze).collect())
                .collect();
            let common: Vec<String> = COMMON.iter().map(|w| squeeze(w)).collect();
            let very_common: Vec<String> = VERY_COMMON.iter().map(|w| squeeze(w)).collect();
            let mut anchors: Vec<Vec<(String, Key)>> = vec![Vec::new(); 256 * 16];
            let mut anchor_prefixes: Vec<Vec<(String, Key)>> = vec![Vec::new(); 256];
            for p in &patterns {
                // The slot with the fewest common words; never one that
                // takes numbers (digits send a message the full way anyway).
                let score = |words: &[Word]| {
                    words
                        .iter()
                        .map(|w| match w {
                            Word::Exact(w, _) if very_common.contains(w) => 10,
                            Word::Exact(w, _) if common.contains(w) => 1,
                            Word::Many => 1000,
                            _ => 0,
                        })
                        .sum::<usize>()
                };
                let slot = p
                    .slots
                    .iter()
                    .filter_map(|s| match s {
                        Slot::Words(words) => Some(words),
                        _ => None,
                    })
                    .min_by_key(|words| score(words))
                    .expect("a pattern has words");
                for w in slot {
                    match w {
                        Word::Exact(w, k) => {
                            let b = &mut anchors[bucket(w)];
                            if !b.iter().any(|(a, _)| a == w) {
                                b.push((w.clone(), *k));
                            }
                        }
                        Word::Prefix(w, k) => {
                            anchor_prefixes[usize::from(w.as_bytes()[0])].push((w.clone(), *k));
                        }
                        Word::Many => unreachable!("slots with numbers are never anchors"),
                    }
                }
            }
            Lexicon {
                patterns,
                by_first,
                by_prefix,
                helping,
                anchors,
                anchor_prefixes,
            }
        })
    }

    fn find(&self, tokens: &[&str], keys: &[Key]) -> Vec<Found> {
        let mut found = Vec::new();
        for (start, token) in tokens.iter().enumerate() {
            if token.is_empty() {
                continue;
            }
            let key = keys[start];
            let exact = self.by_first[bucket(token)]
                .iter()
                .filter(|(w, k, _)| k.same(w, key, token))
                .map(|(_, _, i)| *i);
            let prefixed = self.by_prefix[usize::from(token.as_bytes()[0])]
                .iter()
                .filter(|(p, k, _)| k.starts(p, key, token))
                .map(|(_, _, i)| *i);
            for i in exact.chain(prefixed) {
                let p = &self.patterns[i];
                if let Some(end) = match_at(&p.slots, tokens, keys, start) {
                    found.push(Found {
                        kind: p.kind,
                        start,
                        end,
                    });
                }
            }
        }
        found
    }

    pub(super) fn assess(&self, text: &str) -> Assessment {
        if self.surely_quiet(text) {
            return Assessment {
                level: Level::None,
                signals: Vec::new(),
            };
        }
        let (joined, gaps) = with_tokens(text, false, |words, tokens, keys| {
            let a = self.weigh(text, words, tokens, keys);
            (a, words.had_invisible_gaps())
        });
        if !gaps {
            return joined;
        }
        // Invisible characters hide inside words ("su\u{200B}icide") but
        // also stand in for spaces ("I\u{200B}want\u{200B}to\u{200B}die"),
        // and nothing in the text says which: read it both ways and keep
        // the more serious reading (the joined one on a tie, so its
        // signals are the ones explained).
        let mut spaced = with_tokens(text, true, |words, tokens, keys| {
            self.weigh(text, words, tokens, keys)
        });
        if spaced.level > joined.level {
            spaced
                .signals
                .push("invisible characters read as spaces".to_owned());
            spaced
        } else {
            joined
        }
    }

    /// A quick look that settles most ordinary messages: true only when
    /// the text is ASCII words that normalising would leave as they are
    /// (letters, apostrophes, trailing punctuation; no digits, symbols,
    /// shorthand or runs of single letters) and none of them is an anchor.
    /// Every pattern needs one of its anchor slot's words, so such a text
    /// has no signal at all. Anything else takes the full path.
    fn surely_quiet(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let (mut squeezed, mut raw) = ([0u8; QUICK_WORD], [0u8; QUICK_WORD]);
        let mut singles = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let (mut len, mut letters, mut punctuated) = (0, 0, false);
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                let b = bytes[i];
                if b.is_ascii_alphabetic() {
                    if punctuated || letters == QUICK_WORD {
                        return false;
                    }
                    let c = b.to_ascii_lowercase();
                    raw[letters] = c;
                    letters += 1;
                    if len == 0 || squeezed[len - 1] != c {
                        squeezed[len] = c;
                        len += 1;
                    }
                } else if b == b'\'' {
                    if punctuated {
                        return false;
                    }
                } else if matches!(b, b'.' | b',' | b'!' | b'?' | b';' | b':') {
                    punctuated = true;
                } else {
                    // Digits, symbols, non-ASCII: leet, splits, emoji,
                    // look-alikes are the full normaliser's work.
                    return false;
                }
                i += 1;
            }
            if letters == 0 {
                continue;
            }
            // Spelt-out letters ("k i l l") are joined by the normaliser.
            singles = if letters == 1 { singles + 1 } else { 0 };
            if singles >= 3 {
                return false;
            }
            let raw = std::str::from_utf8(&raw[..letters]).unwrap_or_default();
            let word = std::str::from_utf8(&squeezed[..len]).unwrap_or_default();
            if slang(raw).is_some() {
                return false;
            }
            let key = Key::of(word);
            if self.anchors[bucket(word)]
                .iter()
                .any(|(a, k)| k.same(a, key, word))
                || self.anchor_prefixes[usize::from(squeezed[0])]
                    .iter()
                    .any(|(p, k)| k.starts(p, key, word))
            {
                return false;
            }
        }
        true
    }

    fn weigh(&self, text: &str, normalized: &Words, tokens: &[&str], keys: &[Key]) -> Assessment {
        let mut signals = Vec::new();
        if tokens.is_empty() {
            return Assessment {
                level: Level::None,
                signals,
            };
        }
        let found = self.find(tokens, keys);
        if found.is_empty() {
            // The common case: ordinary chat, nothing to weigh.
            return Assessment {
                level: Level::None,
                signals,
            };
        }
        debug_assert_eq!(normalized.len(), tokens.len());
        let mut active = false;
        let mut vague = false;
        let mut passive = false;
        let mut strong_farewell = false;
        let mut weak_farewell = false;
        let mut letters = false;
        let mut absence = false;
        let mut act = false;
        let mut time = false;
        let mut plan = false;
        let mut stash = false;
        let mut place = false;
        let mut intent = false;
        let mut jump = false;
        let mut place_at = false;
        let mut now = false;
        let mut ready = false;
        let mut give_away = false;
        let mut took = 0;

        let mut context = Context::new(tokens, &self.helping);
        for f in found {
            let phrase = (f.start..f.end)
                .map(|i| normalized.plain(i))
                .collect::<Vec<_>>()
                .join(" ");
            let needs_context = matches!(
                f.kind,
                Kind::Active | Kind::ActiveGeneric | Kind::Vague | Kind::Passive
            );
            if needs_context && let Some(reason) = context.set_aside(&f) {
                signals.push(format!("{reason}: \"{phrase}\""));
                continue;
            }
            if matches!(
                f.kind,
                Kind::Act | Kind::Stash | Kind::FarewellStrong | Kind::FarewellWeak | Kind::Letters
            ) && context.someone_elses(&f)
            {
                signals.push(format!("other person: \"{phrase}\""));
                continue;
            }
            if matches!(f.kind, Kind::FarewellStrong | Kind::FarewellWeak)
                && farewell_to_a_thing(tokens, &f)
            {
                signals.push(format!("goodbye to a place or thing: \"{phrase}\""));
                continue;
            }
            if matches!(f.kind, Kind::FarewellStrong | Kind::FarewellWeak) && goodnight(tokens, &f)
            {
                signals.push(format!("a goodnight: \"{phrase}\""));
                continue;
            }
            // "going to shoot some photos at the bridge": a day out.
            if f.kind == Kind::PlaceAt
                && tokens.iter().any(|t| {
                    listed(
                        &[
                            "photos",
                            "photo",
                            "pictures",
                            "pics",
                            "picnic",
                            "fishing",
                            "selfie",
                            "selfies",
                            "drone",
                            "painting",
                            "sketching",
                            "birdwatching",
                        ],
                        t,
                    )
                })
            {
                signals.push(format!("a day out: \"{phrase}\""));
                continue;
            }
            // "took a load of tablets to the pharmacy": carried, not taken.
            if f.kind == Kind::Act && carried_somewhere(tokens, &f) {
                signals.push(format!("carried somewhere: \"{phrase}\""));
                continue;
            }
            if matches!(f.kind, Kind::FarewellStrong | Kind::FarewellWeak)
                && last_before_an_event(tokens, &f)
            {
                signals.push(format!("last before an everyday event: \"{phrase}\""));
                continue;
            }
            let label = match f.kind {
                Kind::Active | Kind::ActiveGeneric => {
                    active = true;
                    "active"
                }
                Kind::Vague => {
                    vague = true;
                    "vague"
                }
                Kind::Passive => {
                    passive = true;
                    "passive"
                }
                Kind::FarewellStrong => {
                    strong_farewell = true;
                    "goodbye"
                }
                Kind::FarewellWeak => {
                    weak_farewell = true;
                    "goodbye (weak)"
                }
                Kind::Act => {
                    act = true;
                    "act in progress"
                }
                Kind::Time => {
                    time = true;
                    "time"
                }
                Kind::Plan => {
                    plan = true;
                    "plan"
                }
                Kind::Letters => {
                    letters = true;
                    "letters"
                }
                Kind::Absence => {
                    absence = true;
                    "absence"
                }
                Kind::Stash => {
                    stash = true;
                    "means got ready"
                }
                Kind::Place => {
                    place = true;
                    "place"
                }
                Kind::Intent => {
                    intent = true;
                    "intent"
                }
                Kind::Jump => {
                    jump = true;
                    "jump"
                }
                Kind::PlaceAt => {
                    place_at = true;
                    "at a high place"
                }
                Kind::Now => {
                    now = true;
                    "now"
                }
                Kind::Ready => {
                    ready = true;
                    "ready"
                }
                Kind::Took => {
                    took += 1;
                    "took something"
                }
                Kind::GiveAway => {
                    give_away = true;
                    "giving things away"
                }
            };
            signals.push(format!("{label}: \"{phrase}\""));
        }
        // Letters and digits only: punctuation and spacing alone are not
        // a disguise.
        let disguised = if text.is_ascii() {
            // The normaliser knows what it changed.
            normalized.ascii_disguised()
        } else {
            let read = (0..normalized.len()).flat_map(|i| normalized.plain(i).chars());
            !text
                .chars()
                .flat_map(char::to_lowercase)
                .filter(|c| c.is_alphanumeric())
                .eq(read.filter(|c| c.is_alphanumeric()))
        };
        if disguised {
            signals.push("disguised words undone".to_owned());
        }

        let farewell = weak_farewell || strong_farewell;
        let level = if act
            || strong_farewell
            || (active && (time || plan || stash || letters || weak_farewell || place_at))
            || (vague && (time || plan || farewell || letters || stash || ready))
            || (letters && (time || weak_farewell || plan))
            || (absence && (weak_farewell || give_away || time || plan))
            || (give_away && weak_farewell)
            || (jump && intent && (place || time))
            || (took > 0 && (farewell || time || took > 1))
            || (plan && time && weak_farewell)
            || (stash && (time || intent || weak_farewell || now || ready))
            || (place_at && (now || weak_farewell || ready || intent || plan || passive))
        {
            Level::Imminent
        } else if active {
            Level::Urgent
        } else if passive {
            Level::Concern
        } else {
            Level::None
        };
        // Boosters alone say nothing; keep the list to what mattered.
        if level == Level::None {
            signals.retain(|s| {
                ![
                    "time",
                    "plan",
                    "means got ready",
                    "place",
                    "intent",
                    "jump",
                    "goodbye (weak)",
                    "vague",
                    "letters",
                    "absence",
                    "at a high place",
                    "now",
                    "ready",
                    "giving things away",
                    "took something",
                ]
                .iter()
                .any(|k| s.starts_with(&format!("{k}:")))
            });
        }
        Assessment { level, signals }
    }
}

/// The first-word bucket of a (non-empty) token: its first byte and its
/// length (15 for 15 and more).
fn bucket(token: &str) -> usize {
    usize::from(token.as_bytes()[0]) * 16 + token.len().min(15)
}

/// Tries the slots at `start`; returns the end of the match.
fn match_at(slots: &[Slot], tokens: &[&str], keys: &[Key], start: usize) -> Option<usize> {
    fn go(slots: &[Slot], tokens: &[&str], keys: &[Key], at: usize) -> Option<usize> {
        let Some((slot, rest)) = slots.split_first() else {
            return Some(at);
        };
        match slot {
            Slot::Words(words) => {
                let token = *tokens.get(at)?;
                if token != "." && words.iter().any(|w| w.matches(token, keys[at])) {
                    go(rest, tokens, keys, at + 1)
                } else {
                    None
                }
            }
            Slot::End => {
                if tokens.get(at).is_none_or(|t| *t == ".") {
                    go(rest, tokens, keys, at)
                } else {
                    None
                }
            }
            Slot::Gap(n) => (0..=*n).find_map(|skip| {
                if tokens[at..].iter().take(skip).any(|t| *t == ".") {
                    return None;
                }
                go(rest, tokens, keys, at + skip)
            }),
        }
    }
    go(slots, tokens, keys, start)
}

/// Whether a squeezed token is in a word list (the lists are written
/// plainly, so they are squeezed for the comparison: "good" → "god").
fn listed(list: &[&str], token: &str) -> bool {
    list.iter().any(|w| squeezed_eq(w, token))
}

/// Someone other than the writer, plurals and possessives included
/// ("my dads suicide", "my friends").
fn other(token: &str) -> bool {
    listed(OTHERS, token) || token.strip_suffix('s').is_some_and(|t| listed(OTHERS, t))
}

/// `squeeze(word) == token`, without allocating.
fn squeezed_eq(word: &str, token: &str) -> bool {
    // Most list words differ at once: settle those without decoding.
    if word.as_bytes().first() != token.as_bytes().first() || token.len() > word.len() {
        return false;
    }
    let mut t = token.chars();
    let mut last = None;
    for c in word.chars() {
        if Some(c) == last {
            continue;
        }
        last = Some(c);
        if t.next() != Some(c) {
            return false;
        }
    }
    t.next().is_none()
}

/// Things people say goodbye to without meaning their life ("this is
/// goodbye to my old flat").
const LEFT_BEHIND: &[&str] = &[
    "old",
    "moving",
    "move",
    "job",
    "house",
    "flat",
    "apartment",
    "hair",
    "summer",
    "year",
    "semester",
    "term",
    "school",
    "office",
    "town",
    "city",
    "car",
    "phone",
];

/// "goodbye to my old apartment": a goodbye followed, in its sentence, by
/// "to" and a place or thing.
fn farewell_to_a_thing(tokens: &[&str], f: &Found) -> bool {
    // Looked for in the next sentences only (40 words), which also keeps a
    // long text linear.
    let rest = &tokens[f.end..(f.end + 40).min(tokens.len())];
    let clause = &rest[..rest.iter().position(|t| *t == ".").unwrap_or(rest.len())];
    clause.first() == Some(&"to") && clause.iter().any(|t| listed(LEFT_BEHIND, t))
}

/// Verbs that make the person named just before them the subject of the
/// sentence: "my aunt is in hospital after…", "a patient told me…".
const SUBJECT_VERBS: &[&str] = &[
    "is", "was", "has", "had", "took", "taken", "told", "tells", "said", "says", "tried", "ended",
    "went", "keeps", "kept",
];

/// Whether the words before an act, in its sentence, make someone else its
/// subject: a person named by a noun ("my aunt", "a patient") right before
/// one of [`SUBJECT_VERBS`], with no "I" and no "and" or "but" after them.
/// "got my dad's gun" is the writer's: there the name is an object.
fn named_subject(before: &[&str]) -> bool {
    let Some(at) = before.windows(2).rposition(|w| {
        other(w[0])
            && !listed(
                &["his", "her", "their", "them", "him", "we", "you", "us"],
                w[0],
            )
            && listed(SUBJECT_VERBS, w[1])
    }) else {
        return false;
    };
    !before[at..]
        .iter()
        .any(|t| (listed(SELF, t) && *t != "me") || listed(STOPS, t))
}

/// "this is my last message tonight, need sleep": a goodnight, not a
/// goodbye. The goodbye is followed by "tonight" or "today", the text says
/// it is off to sleep, and nothing in it is for ever.
fn goodnight(tokens: &[&str], f: &Found) -> bool {
    tokens
        .get(f.end)
        .is_some_and(|t| matches!(*t, "tonight" | "today"))
        && tokens
            .iter()
            .any(|t| listed(&["sleep", "bed", "nap", "gn", "goodnight", "zzz"], t))
        && !tokens
            .iter()
            .any(|t| listed(&["forever", "ever", "never", "again"], t))
}

/// Whether pills "took" were carried somewhere: "took" starts the act and
/// the next words (past any break) are "back" or "to the/a/my".
fn carried_somewhere(tokens: &[&str], f: &Found) -> bool {
    let next: Vec<&str> = tokens[f.end..]
        .iter()
        .copied()
        .filter(|t| *t != ".")
        .take(2)
        .collect();
    squeezed_eq("took", tokens[f.start])
        && (next.first() == Some(&"back")
            || (next.first() == Some(&"to")
                && next
                    .get(1)
                    .is_some_and(|t| matches!(*t, "the" | "a" | "my" | "our"))))
}

/// Everyday things a "last message" can come before.
const EVENTS: &[&str] = &[
    "exam",
    "exams",
    "test",
    "finals",
    "shift",
    "flight",
    "holiday",
    "holidays",
    "trip",
    "vacation",
    "break",
    "class",
    "lecture",
    "work",
    "surgery",
    "operation",
    "wedding",
    "interview",
    "deadline",
    "move",
    "weekend",
    "camp",
    "match",
    "game",
    "gig",
    "recital",
];

/// "my last message before my exam, wish me luck": the last word before
/// an everyday event, or with luck wished for, and no "forever".
fn last_before_an_event(tokens: &[&str], f: &Found) -> bool {
    let after = &tokens[f.end..tokens.len().min(f.end + 4)];
    let event = after
        .iter()
        .position(|t| matches!(*t, "before" | "till" | "until" | "til"))
        .is_some_and(|i| {
            tokens[f.end + i + 1..tokens.len().min(f.end + i + 4)]
                .iter()
                .any(|t| listed(EVENTS, t))
        });
    let luck = tokens
        .windows(3)
        .any(|w| matches!(w, ["wish", "me", "luck"]));
    // "my last message for a bit, digital detox till monday".
    let a_while = after.windows(3).any(|w| {
        w[0] == "for" && (matches!(w[1..], ["a", "bit"] | ["a", "while"]) || w[1] == "now")
    }) || tokens
        .iter()
        .any(|t| listed(&["detox", "hiatus", "break"], t));
    (event || luck || a_while)
        && !tokens
            .iter()
            .any(|t| listed(&["forever", "ever", "never", "again", "goodbye"], t))
}

/// Words that end a backward search for a negator or subject: "no i really
/// want to die" is not negated.
const STOPS: &[&str] = &["but", "and", "so", "because", "cause"];

/// What the context rules know about the text around the signals, worked
/// out when first needed and shared by every signal that asks.
///
/// The rules look back to the start of a signal's sentence, forward to its
/// end, into the next sentence and (for recovery) to the end of the text.
/// Scanning that afresh for each signal made a long sentence full of
/// signals take time in the square of its length (64 KiB of "i want to
/// die" took seconds); here each sentence is read once, and the text once
/// more for recovery words, so the time is linear.
struct Context<'a> {
    tokens: &'a [&'a str],
    helping: &'a [Vec<String>],
    /// Where the sentence breaks (".") are, in order.
    breaks: Vec<usize>,
    /// Sentences read so far, by index (the number of breaks before them).
    clauses: HashMap<usize, Clause>,
    /// Entry `i`: whether a recovery word that is not negated ("nothing
    /// helped") stands somewhere from token `i + 1` to the end.
    recovery_after: Option<Vec<bool>>,
}

/// One sentence, read once for everything the context rules ask of it.
struct Clause {
    /// Its tokens are `start..end`; `end` is a break or the end of text.
    start: usize,
    end: usize,
    /// Entry `i`: the nearest subject before token `start + i`, back to
    /// the start of the sentence: `Some(true)` the writer, `Some(false)`
    /// someone else.
    subject: Vec<Option<bool>>,
    /// The first past-tense marker (`end` if none).
    first_past: usize,
    /// The last "until"/"til"/"till", if any.
    last_until: Option<usize>,
    /// Whether a helping phrase is in it.
    helping: bool,
    /// Whether there is laughter in it.
    laughing: bool,
    /// Whether it takes itself back as a joke ("jk", "joking").
    joking: bool,
}

impl<'a> Context<'a> {
    fn new(tokens: &'a [&'a str], helping: &'a [Vec<String>]) -> Context<'a> {
        let breaks = (0..tokens.len()).filter(|&i| tokens[i] == ".").collect();
        count_work(tokens.len());
        Context {
            tokens,
            helping,
            breaks,
            clauses: HashMap::new(),
            recovery_after: None,
        }
    }

    /// The index of the sentence that token `at` (not a break) is in.
    fn clause_of(&self, at: usize) -> usize {
        self.breaks.partition_point(|&b| b < at)
    }

    /// Sentence `index`, read on first use.
    fn clause(&mut self, index: usize) -> &Clause {
        let (tokens, helping, breaks) = (self.tokens, self.helping, &self.breaks);
        self.clauses.entry(index).or_insert_with(|| {
            let start = if index == 0 { 0 } else { breaks[index - 1] + 1 };
            let end = breaks.get(index).copied().unwrap_or(tokens.len());
            let clause = &tokens[start..end];
            count_work(clause.len());
            let mut subject = Vec::with_capacity(clause.len() + 1);
            subject.push(None);
            for t in clause {
                let last = *subject.last().expect("starts with one");
                // "someone in my class self harms": a possessive names
                // no one acting (one just before a signal does; see
                // `set_aside`).
                subject.push(if matches!(*t, "my" | "mine") {
                    last
                } else if listed(SELF, t) {
                    Some(true)
                } else if other(t) {
                    Some(false)
                } else {
                    last
                });
            }
            Clause {
                start,
                end,
                subject,
                first_past: clause
                    .iter()
                    .position(|t| listed(PAST, t))
                    .map_or(end, |i| start + i),
                last_until: clause
                    .iter()
                    .rposition(|t| matches!(*t, "until" | "til" | "till"))
                    .map(|i| start + i),
                helping: helping.iter().any(|phrase| {
                    clause
                        .windows(phrase.len())
                        .any(|w| w.iter().zip(phrase).all(|(a, b)| *a == b))
                }),
                laughing: clause.iter().any(|t| listed(LAUGHING, t)),
                joking: taken_back_as_joke(clause),
            }
        })
    }

    /// Whether a recovery word that is not negated follows token `end`:
    /// right at `end` it counts whatever came before it.
    fn recovered_after(&mut self, end: usize) -> bool {
        let tokens = self.tokens;
        if tokens.get(end).is_some_and(|t| listed(RECOVERY, t)) {
            return true;
        }
        let after = self.recovery_after.get_or_insert_with(|| {
            count_work(tokens.len());
            let mut after = vec![false; tokens.len() + 1];
            for i in (1..tokens.len()).rev() {
                // "nothing has got better", "i haven't been okay": a
                // denial up to three words back undoes the recovery word.
                let denied = tokens[i.saturating_sub(3)..i].iter().any(|t| {
                    listed(NEGATORS, t)
                        || matches!(
                            *t,
                            "nothing"
                                | "nobody"
                                | "havent"
                                | "hasnt"
                                | "hadnt"
                                | "didnt"
                                | "doesnt"
                                | "cant"
                                | "cannot"
                        )
                });
                // "i was suicidal in 2019. i'm not anymore": a plain
                // "not anymore" closing its sentence; "no longer feel".
                let not_anymore = tokens[i] == "anymore"
                    && ((tokens[i - 1] == "not" && tokens.get(i + 1).is_none_or(|t| *t == "."))
                        // "i don't believe that anymore", "don't feel
                        // that way anymore".
                        || (listed(&["that", "way"], tokens[i - 1])
                            && tokens[i.saturating_sub(5)..i].iter().any(|t| {
                                listed(&["dont", "doesnt", "not"], t)
                            })
                            && tokens[i.saturating_sub(4)..i]
                                .iter()
                                .any(|t| listed(&["believe", "feel", "think"], t))));
                let no_longer = tokens[i] == "longer"
                    && tokens[i - 1] == "no"
                    && tokens
                        .get(i + 1)
                        .is_some_and(|t| listed(&["feel", "am", "suicidal", "there", "like"], t));
                after[i - 1] = after[i]
                    || (listed(RECOVERY, tokens[i]) && !denied)
                    || not_anymore
                    || no_longer;
            }
            after
        });
        after.get(end).copied().unwrap_or(false)
    }

    /// Whether an act, means or goodbye is someone else's: "my friend told
    /// me he's been saving up pills", "someone said they just took pills",
    /// "he gave away all his stuff". The signal has no "I" in it, and
    /// someone else is named in the three words just before it (with no
    /// "I" after them), or it names their things. Further back the subject
    /// may have changed: "he doesn't care, just took 20 pills" still alerts.
    fn someone_elses(&mut self, f: &Found) -> bool {
        let tokens = self.tokens;
        let span = &tokens[f.start..f.end];
        if span.iter().any(|t| listed(SELF, t)) {
            return false;
        }
        let clause_start = self.clause(self.clause_of(f.start)).start;
        let from = f.start.saturating_sub(3).max(clause_start);
        // A subject pronoun, not a possessive: "got my dad's gun out" is
        // the writer's act. After a preposition the person is not the one
        // acting: "wanted to talk to someone one last time".
        let theirs = (from..f.start).rev().find(|&i| {
            listed(SUBJECTS_OTHER, tokens[i])
                && !(i > 0 && listed(&["to", "with", "for", "at", "from", "about"], tokens[i - 1]))
        });
        let mine = (from..f.start).rev().find(|&i| listed(SELF, tokens[i]));
        (theirs.is_some() && mine < theirs)
            || (matches!(f.kind, Kind::FarewellStrong | Kind::FarewellWeak)
                && span.iter().any(|t| matches!(*t, "his" | "their" | "her")))
            || (matches!(f.kind, Kind::Act | Kind::Stash)
                && named_subject(&tokens[clause_start..=f.start]))
    }

    /// Why a signal does not count, if it does not.
    fn set_aside(&mut self, f: &Found) -> Option<&'static str> {
        let tokens = self.tokens;
        let index = self.clause_of(f.start);
        let clause = self.clause(index);
        // No pattern spans a break, so the signal's sentence ends at the
        // first break after it.
        let (clause_start, clause_end) = (clause.start, clause.end);
        let before = &tokens[clause_start..f.start];
        let span = &tokens[f.start..f.end];
        // The words just before the signal, back to a subject or a conjunction.
        let near: Vec<&str> = before
            .iter()
            .rev()
            .take_while(|t| !listed(SELF, t) && !other(t) && !listed(STOPS, t))
            // "never had thoughts of suicide": what thoughts are of does
            // not count toward the distance.
            .filter(|t| !listed(&["thoughts", "thought", "of", "about", "any"], t))
            // "i don't feel like a burden": a feeling's negator sits one
            // word further back.
            .take(if f.kind == Kind::Passive { 4 } else { 3 })
            .copied()
            .collect();
        // "I would never hurt myself", "not suicidal", "not going to kill myself".
        if !listed(NEGATORS, tokens[f.start]) && near.iter().any(|t| listed(NEGATORS, t)) {
            return Some("negated");
        }
        // "cut myself a slice", "cut myself off", "cut myself some slack".
        if tokens[f.start] == "cut"
            && span.last() == Some(&"myself")
            && tokens
                .get(f.end)
                .is_some_and(|t| ["a", "some", "of", "slack", "short", "fre"].contains(t))
        {
            return Some("not self-harm");
        }
        // "kms" after a number is kilometres.
        if tokens[f.start] == "kms"
            && f.start > 0
            && tokens[f.start - 1].chars().all(|c| c.is_ascii_digit())
        {
            return Some("a distance");
        }
        // "overdosed on christmas cookies".
        if tokens[f.start].starts_with("overdos")
            && tokens.get(f.end) == Some(&"on")
            && tokens.get(f.end + 1).is_none_or(|t| !listed(DRUGS, t))
        {
            return Some("a figure of speech");
        }
        // "my laptop unalived itself", "the boss unalived him".
        let object = match tokens.get(f.end).copied() {
            Some("my" | "the" | "this" | "that" | "our") => tokens.get(f.end + 1).copied(),
            t => t,
        };
        if f.kind == Kind::ActiveGeneric
            && (tokens.get(f.end).is_some_and(|t| listed(OBJECTS, t))
                || (span == ["unalive"] && object.is_some_and(|t| listed(THINGS, t))))
        {
            return Some("other person");
        }
        // "can't see a way forward with this spreadsheet", "disappear under my
        // duvet until monday": about a thing, or for a while.
        if f.kind == Kind::Passive
            && tokens.get(f.end) == Some(&"with")
            && tokens
                .get(f.end + 1)
                .is_some_and(|t| matches!(*t, "this" | "the" | "that"))
        {
            return Some("about something else");
        }
        if f.kind == Kind::Passive
            && tokens[f.end - 1].starts_with("disap")
            && clause.last_until.is_some_and(|u| u >= f.end)
        {
            return Some("for a while");
        }
        // "morir de risa", "mourir de rire", "morire dal ridere": idioms.
        if tokens[f.end - 1].starts_with("mor") || tokens[f.end - 1].starts_with("mour") {
            let of = tokens
                .get(f.end..(f.end + 3).min(tokens.len()))
                .unwrap_or(&[]);
            if of
                .first()
                .is_some_and(|t| matches!(*t, "de" | "dal" | "di" | "du"))
                && of.iter().skip(1).any(|t| listed(IDIOM_OF, t))
            {
                return Some("an idiom");
            }
        }
        // "i'm literally going to die": hyperbole, a fear not a wish.
        if span.len() >= 3
            && span[span.len() - 3..] == ["going", "to", "die"]
            && before.last().is_some_and(|t| squeezed_eq("literally", t))
        {
            return Some("hyperbole");
        }
        // "I don't want to live forever": not about dying.
        if span.last() == Some(&"live") && tokens.get(f.end) == Some(&"forever") {
            return Some("about living forever");
        }
        // "wish i could sleep forever this weekend", "no point going to
        // the gym", "hope i don't wake up late", "can't go on the trip",
        // "we're all gonna die someday": about something else.
        let next = tokens.get(f.end).copied().unwrap_or("");
        let last = tokens[f.end - 1];
        if f.kind == Kind::Passive {
            let for_a_while = squeezed_eq("forever", last)
                && (next == "this" || listed(&["till", "until", "til"], next));
            let going_somewhere = squeezed_eq("going", last) && next == "to";
            let waking_when = last == "up" && listed(&["late", "early", "at", "before"], next);
            let going_on_a_thing = squeezed_eq("on", last)
                && span.len() >= 2
                && squeezed_eq("go", span[span.len() - 2])
                && listed(
                    &[
                        "the", "a", "an", "holiday", "trip", "stage", "tour", "vacation", "ride",
                        "rides",
                    ],
                    next,
                );
            if for_a_while || going_somewhere || waking_when || going_on_a_thing {
                return Some("about something else");
            }
        }
        if last == "die"
            && span.len() >= 2
            && listed(&["gonna", "gona", "to"], span[span.len() - 2])
            && (listed(&["someday", "eventually", "sometime"], next)
                || (next == "one" && tokens.get(f.end + 1) == Some(&"day")))
        {
            return Some("about mortality");
        }
        // "my character says 'i wish i could disappear' in chapter 3":
        // fiction, named after the words in their sentence.
        if tokens[f.end..clause_end].iter().take(8).any(|t| {
            listed(
                &[
                    "character",
                    "characters",
                    "chapter",
                    "scene",
                    "script",
                    "screenplay",
                    "novel",
                    "fanfic",
                ],
                t,
            )
        }) {
            return Some("fiction");
        }
        // "the chorus goes 'I want to die'": a song's words.
        if before.iter().any(|t| listed(LYRIC, t))
            || before.windows(2).any(|w| w[0] == "song" && w[1] == "goes")
        {
            return Some("a lyric");
        }
        // "the word suicide", "words like kms", "unalive is the dumbest
        // algospeak", "i want to die memes": a word talked about. The talk
        // word is near (four words back, or four on) with no "I" between.
        let talk_before = before
            .iter()
            .rev()
            .take(4)
            .take_while(|t| !listed(SELF, t))
            .any(|t| listed(WORD_TALK, t) || listed(WORD_TALK_BEFORE, t));
        let talk_after = tokens[f.end..clause_end]
            .iter()
            .take(6)
            .take_while(|t| !listed(SELF, t))
            .any(|t| listed(WORD_TALK, t))
            || tokens
                .get(f.end)
                .is_some_and(|t| listed(WORD_TALK_AFTER, t));
        // "what does 'passive suicidal ideation' mean": a meaning asked.
        let meaning_asked = before
            .iter()
            .rev()
            .take(5)
            .take_while(|t| !listed(SELF, t))
            .any(|t| *t == "what")
            && tokens[f.end..clause_end]
                .iter()
                .take(3)
                .any(|t| listed(&["means", "mean", "stand", "stands"], t));
        if talk_before || talk_after || meaning_asked {
            return Some("a word talked about");
        }
        // "suicide? no. self harm? no.": a screening question, the signal
        // alone in its sentence, answered no in the next.
        if clause_start == f.start
            && clause_end == f.end
            && f.kind == Kind::ActiveGeneric
            && answered_no(&tokens[f.end..])
        {
            return Some("a question answered no");
        }
        // "wish i could disappear into a book": somewhere to be for a while.
        if f.kind == Kind::Passive
            && tokens[f.end - 1].starts_with("disap")
            && tokens
                .get(f.end)
                .is_some_and(|t| matches!(*t, "into" | "to" | "under" | "in"))
            && tokens[f.end..clause_end]
                .iter()
                .take(4)
                .any(|t| listed(ESCAPES, t))
        {
            return Some("for a while");
        }
        // "happy to die on this hill", "the hill i'd die on": an idiom.
        if span.last() == Some(&"die")
            && tokens.get(f.end) == Some(&"on")
            && tokens[clause_start..clause_end].contains(&"hil")
        {
            return Some("an idiom");
        }
        // "my old self harm scars": marks of the past.
        if tokens[f.start..clause_end.min(f.end + 1)]
            .iter()
            .any(|t| matches!(*t, "scars" | "scar"))
            && before
                .iter()
                .rev()
                .take(3)
                .any(|t| listed(&["old", "faded", "healed", "covering", "cover"], t))
        {
            return Some("past, healed");
        }
        // "at 19 i wanted to die every day. i'm 34 now": told with the age
        // it was, and a later sentence about now.
        let at_age = before.windows(2).any(|w| {
            matches!(w[0], "at" | "aged" | "age" | "was")
                && !w[1].is_empty()
                && w[1].chars().all(|c| c.is_ascii_digit())
        }) || tokens[clause_start..clause_end].windows(3).any(|w| {
            // "in my twenties", "in my teens".
            w[0] == "in"
                && w[1] == "my"
                && listed(
                    &[
                        "teens", "twenties", "thirties", "forties", "fifties", "20s", "30s",
                    ],
                    w[2],
                )
        });
        if at_age && tokens[clause_end..].contains(&"now") {
            return Some("past, recovered");
        }
        // "10 years ago today i tried to end my life": an attempt years
        // back, with nothing in its sentence saying it is back ("still",
        // "again").
        let years_ago = tokens[clause_start..clause_end]
            .windows(2)
            .any(|w| matches!(w[0], "years" | "yrs" | "year") && w[1] == "ago");
        if years_ago
            && before
                .iter()
                .rev()
                .take(3)
                .any(|t| listed(&["tried", "attempted"], t))
            && !tokens[clause_start..clause_end]
                .iter()
                .any(|t| listed(&["still", "again", "now", "tonight", "want", "wanna"], t))
        {
            return Some("past, years ago");
        }
        // "on the mood survey, thoughts of hurting myself: not at all": a
        // form's question answered no.
        if before.iter().any(|t| listed(FORMS, t)) && answered_no(&tokens[f.end..]) {
            return Some("a question answered no");
        }
        // "the GP asked if I'd thought about suicide. I haven't": a
        // question put to the writer, answered no.
        if let Some(asked) = before.iter().rposition(|t| listed(ASKED, t))
            && before.get(asked + 1) != Some(&"myself")
            && before[asked..]
                .iter()
                .any(|t| matches!(*t, "if" | "whether" | "about"))
            && answered_no(&tokens[f.end..])
        {
            return Some("a question answered no");
        }
        // "ending it with my boyfriend": a relationship.
        if f.kind == Kind::Vague && tokens.get(f.end) == Some(&"with") {
            return Some("a relationship");
        }
        // "hopeless at maths", "hopeless about the football" (but not "about
        // everything").
        if tokens[f.start].starts_with("hopeles")
            && tokens.get(f.end).is_some_and(|t| listed(NOT_LIFE, t))
            && tokens.get(f.end + 1..f.end + 3).is_some_and(|w| {
                !w.iter()
                    .any(|t| matches!(*t, "everything" | "life" | "myself" | "future"))
            })
        {
            return Some("about something else");
        }
        let (subject, helping, first_past) = (
            // "my suicidal thoughts", "my self harm": the writer's.
            if before.last() == Some(&"my") {
                Some(true)
            } else {
                clause.subject[f.start - clause_start]
            },
            clause.helping,
            clause.first_past,
        );
        // "omg i want to die 😂": laughter in the sentence or the next one,
        // for the generic phrases only (never "kill myself").
        if matches!(f.kind, Kind::ActiveGeneric | Kind::Passive)
            && (self.clause(index).laughing
                || (clause_end < tokens.len() && self.clause(index + 1).laughing))
        {
            return Some("laughing");
        }
        // "gonna unalive myself lmao jk": a wish taken back as a joke in
        // its sentence or the next ("not joking", "half kidding" and
        // "jk… unless" are not).
        if matches!(f.kind, Kind::Active | Kind::ActiveGeneric | Kind::Passive)
            && (self.clause(index).joking
                || (clause_end < tokens.len() && self.clause(index + 1).joking))
            && !tokens[f.end..].iter().any(|t| squeezed_eq("unless", t))
        {
            return Some("a joke, taken back");
        }
        // "suicide prevention": the noun as a topic (never "suicidal").
        // "my essay on self harm", "the theme of suicide": the subject of a
        // piece of work. Only the bare nouns, never "suicidal" or a verb.
        let noun = span == ["suicide"]
            || span == ["suicides"]
            || span == ["self", "harm"]
            || span == ["overdose"];
        if noun
            && (tokens.get(f.end).is_some_and(|t| listed(TOPIC_AFTER, t))
                || before.iter().rev().take(3).any(|t| listed(TOPIC_BEFORE, t)))
        {
            return Some("a topic");
        }
        // A pattern with "me", "my" or "myself" in it is about the writer.
        let first_person_span = span.iter().any(|t| listed(SELF, t));
        let generic = matches!(f.kind, Kind::ActiveGeneric | Kind::Passive | Kind::Vague);
        if generic && !first_person_span {
            // The nearest subject before the signal, in its clause, decides
            // whose it is; none means the writer (chat drops "I").
            if subject == Some(false) {
                return Some("other person");
            }
            if subject.is_none() && helping {
                return Some("helping someone else");
            }
        }
        // "she died by suicide": someone's death, told by someone alive.
        if span == ["suicide"]
            && before.len() >= 2
            && matches!(before[before.len() - 2], "died" | "death")
            && matches!(before[before.len() - 1], "by" | "of" | "from")
        {
            return Some("someone else's death");
        }
        // "survived my overdose in 2018", "five years clean from self harm":
        // a recovery word that governs the signal, in a sentence that
        // puts it years or months back ("survived it last night" is not).
        let governing = before
            .iter()
            .rev()
            .find(|t| !matches!(**t, "my" | "a" | "an" | "the" | "from" | "of" | "that"));
        if governing.is_some_and(|t| {
            listed(&["survived", "recovered", "healed", "clean", "free"], t)
        })
            && !before
                .iter()
                .rev()
                .take(4)
                .any(|t| listed(NEGATORS, t) || matches!(*t, "barely" | "almost" | "havent"))
            // "three months clean from self harm but i relapsed": not over.
            && !tokens[f.end..clause_end]
                .iter()
                .any(|t| listed(&["but", "until", "till", "relapsed", "relapse", "again"], t))
            && tokens[clause_start..clause_end].iter().any(|t| {
                matches!(*t, "years" | "yrs" | "months" | "ago")
                    || (t.len() == 4
                        && (t.starts_with("19") || t.starts_with("20"))
                        && t.chars().all(|c| c.is_ascii_digit()))
            })
        {
            return Some("past, recovered");
        }
        // "I was suicidal in college but I'm in a much better place now": a
        // past marker before the signal and a recovery word after it.
        // The recovery may be told in a later sentence ("…therapy helped"),
        // but not negated ("nothing helped").
        if first_past < f.start && self.recovered_after(f.end) {
            return Some("past, recovered");
        }
        None
    }
}

/// Counts tokens read by the context rules, for the test that keeps them
/// linear.
#[cfg(test)]
fn count_work(tokens: usize) {
    WORK.with(|w| w.set(w.get() + tokens));
}

#[cfg(not(test))]
fn count_work(_: usize) {}

#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the full path finds any pattern in `text`.
    fn finds_something(text: &str) -> bool {
        let lexicon = Lexicon::get();
        with_tokens(text, false, |_, tokens, keys| {
            !lexicon.find(tokens, keys).is_empty()
        })
    }

    /// The labelled sets and the rule cases: every message the quick check
    /// calls quiet has no pattern in it.
    #[test]
    fn quick_check_never_hides_a_pattern_in_the_labelled_sets() {
        let lexicon = Lexicon::get();
        let sets = [
            include_str!("../../tests/data/crisis-dev.tsv"),
            include_str!("../../tests/data/crisis-heldout.tsv"),
            include_str!("../../tests/data/crisis-fresh.tsv"),
        ];
        let (mut quiet, mut total) = (0, 0);
        for line in sets.iter().flat_map(|s| s.lines()) {
            let Some((_, text)) = line.split_once('\t') else {
                continue;
            };
            total += 1;
            if lexicon.surely_quiet(text) {
                quiet += 1;
                assert!(
                    !finds_something(text),
                    "quick check hid a pattern: {text:?}"
                );
            }
        }
        assert!(quiet > 0 && total > 500, "{quiet} of {total}");
    }

    #[test]
    fn quick_check_settles_ordinary_chat() {
        let lexicon = Lexicon::get();
        for text in [
            "Had a rough morning but went for a short walk with my sister, which helped a bit. Thanks all x",
            "Does anyone else find Sundays hard? I keep putting off calling my dad, we argued last week.",
            "Tried the communication analysis card today. Realised I never said what I actually needed.",
        ] {
            assert!(lexicon.surely_quiet(text), "{text}");
        }
        for text in [
            "i want to die",
            "k i l l myself",
            "su1cide",
            "kms",
            "I'm so tired of life",
        ] {
            assert!(!lexicon.surely_quiet(text), "{text}");
        }
    }

    /// Regression: each signal scanned its sentence and the rest of the
    /// text again, so a long line full of signals took time in the square
    /// of its length. The context rules now read each token a bounded
    /// number of times, however many signals there are.
    #[test]
    fn context_rules_read_dense_text_in_linear_work() {
        let lexicon = Lexicon::get();
        for unit in [
            "i want to die ",
            "i want to die. ",
            "i was suicidal and im not suicidal now but my friend is hopeless haha and therapy helped ",
            "how do i help someone who is suicidal until ",
        ] {
            for repeats in [200, 2000] {
                let text = unit.repeat(repeats);
                let tokens = with_tokens(&text, false, |_, tokens, _| tokens.len());
                WORK.with(|w| w.set(0));
                let signals = lexicon.assess(&text).signals.len();
                let work = WORK.with(|w| w.get());
                assert!(signals >= repeats, "{unit:?}: only {signals} signals");
                assert!(
                    work <= 3 * tokens,
                    "{unit:?} x{repeats}: {work} tokens read for {tokens}"
                );
            }
        }
    }

    /// Messages made from pattern words and everyday words, thousands of
    /// them: whenever the quick check says quiet, the full path agrees.
    #[test]
    fn quick_check_never_hides_a_pattern_in_generated_text() {
        let lexicon = Lexicon::get();
        let mut vocabulary: Vec<String> = PATTERNS
            .iter()
            .flat_map(|(_, p)| p.split([' ', '|']))
            .filter(|w| !w.starts_with('~') && !matches!(*w, "$" | "#"))
            .map(|w| w.trim_end_matches('*').to_owned())
            .collect();
        vocabulary.extend(COMMON.iter().chain(VERY_COMMON).map(|w| (*w).to_owned()));
        vocabulary.extend(["Really", "WEEK.", "don't", "ok,", "x", "b"].map(String::from));
        vocabulary.sort();
        vocabulary.dedup();
        // A small deterministic generator: the test is the same every run.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut quiet = 0;
        for _ in 0..20_000 {
            let len = 1 + next(8);
            let text: Vec<&str> = (0..len)
                .map(|_| vocabulary[next(vocabulary.len())].as_str())
                .collect();
            let text = text.join(" ");
            if lexicon.surely_quiet(&text) {
                quiet += 1;
                assert!(
                    !finds_something(&text),
                    "quick check hid a pattern: {text:?}"
                );
            }
        }
        assert!(quiet > 100, "only {quiet} quiet");
    }
}
