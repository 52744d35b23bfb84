//! Messages written for this test (not from the development set) that pin
//! each rule of the detector: evasions, context and levels.

use ipt_core::crisis::{Level, assess};

fn check(cases: &[(&str, Level)]) {
    let mut wrong = Vec::new();
    for (text, want) in cases {
        let got = assess(text);
        if got.level != *want {
            wrong.push(format!(
                "{text:?}: want {want:?}, got {:?} {:?}",
                got.level, got.signals
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn test_evasions_are_seen_through() {
    check(&[
        ("KILL MYSELF", Level::Urgent),
        ("kiiiilll myseeelf", Level::Urgent),
        ("k.i.l.l m.y.s.e.l.f", Level::Urgent),
        ("k1ll mys3lf", Level::Urgent),
        ("ki\u{200b}ll my\u{200c}self", Level::Urgent),
        ("kіll mуself", Level::Urgent), // Cyrillic і and у
        ("thinking about sewerslide", Level::Urgent),
        ("i wanna unalive myself", Level::Urgent),
        ("been doing self h@rm again", Level::Urgent),
        ("s u i c i d a l today", Level::Urgent),
        ("💊 tonight, im ready", Level::Imminent),
    ]);
}

#[test]
fn test_levels_for_new_phrasings() {
    check(&[
        ("honestly i just want to die", Level::Urgent),
        ("been hurting myself again", Level::Urgent),
        ("i keep thinking about ending it", Level::Urgent),
        ("tomorrow i'm going to end my life", Level::Imminent),
        ("i've made a plan to kill myself", Level::Imminent),
        ("just took the whole bottle of pills", Level::Imminent),
        ("this is my last post, goodbye forever", Level::Imminent),
        ("everyone would be better off without me", Level::Concern),
        ("i'm such a burden on my family", Level::Concern),
        ("what's the point of living like this", Level::Concern),
        ("i hate my life so much", Level::Concern),
        ("feeling completely hopeless", Level::Concern),
    ]);
}

#[test]
fn test_context_keeps_ordinary_talk_quiet() {
    check(&[
        ("I'm not going to kill myself, I promise", Level::None),
        ("I have never been suicidal", Level::None),
        (
            "my sister told me she feels suicidal, how can I support her?",
            Level::None,
        ),
        (
            "the main character kills himself at the end of the film",
            Level::None,
        ),
        ("our team did suicide prevention training", Level::None),
        (
            "I used to self harm but therapy helped and I'm doing better",
            Level::None,
        ),
        ("my phone died again lol", Level::None),
        ("this homework is killing me", Level::None),
        ("I nearly died laughing", Level::None),
        (
            "going to take my meds tonight like the doctor said",
            Level::None,
        ),
        ("goodbye everyone, see you tomorrow", Level::None),
        ("I ran 5 kms this morning", Level::None),
        ("I'd die for a good coffee right now", Level::None),
        ("we should end it here and talk next week", Level::None),
        ("I cut myself a slice of cake", Level::None),
        ("I cut myself off from everyone this month", Level::None),
    ]);
}

/// Found in review: context rules must not set real crises aside.
#[test]
fn test_context_rules_never_hide_a_real_crisis() {
    check(&[
        (
            "I was fine yesterday but tonight I'm going to kill myself",
            Level::Imminent,
        ),
        ("I was thinking I'm better off dead", Level::Urgent),
        (
            "everyone thinks im fine but i wish i was dead",
            Level::Urgent,
        ),
        ("no i really want to die", Level::Urgent),
        ("im not ok i want to die", Level::Urgent),
        ("i have no friends i want to die", Level::Urgent),
        ("people would be better off without me", Level::Concern),
        ("my kids would be better off without me", Level::Concern),
        ("can we talk? feeling suicidal tonight", Level::Imminent),
        ("ugh man. suicidal again", Level::Urgent),
        (
            "how can i help others when i feel suicidal myself",
            Level::Urgent,
        ),
        ("im in a suicidal crisis right now", Level::Imminent),
        (
            "I was suicidal for years and it was good to get help but I'm suicidal again",
            Level::Urgent,
        ),
    ]);
}

/// Chat shorthand and everyday phrasings added after the held-out set
/// showed what the first patterns missed. Written for this test.
#[test]
fn test_shorthand_and_everyday_phrasings() {
    check(&[
        ("evry1 wud b better off w/o me", Level::Concern),
        ("i think id rather just stop existing", Level::Concern),
        ("nothing is ever gonna change for me", Level::Concern),
        ("i hope i dont wake up tmrw", Level::Concern),
        ("i wish i had never been born", Level::Concern),
        ("thinking about how to off myself", Level::Urgent),
        ("the urge to cut is back", Level::Urgent),
        ("relapsed with sh again after 6 months", Level::Urgent),
        ("i wanna unalive so bad", Level::Urgent),
        ("swallowed 40 of my tablets an hour ago", Level::Imminent),
        ("i'm on the bridge now. sorry everyone", Level::Imminent),
        ("if you're reading this i'm already gone", Level::Imminent),
        ("left notes for my family. bye", Level::Imminent),
        (
            "my guitar goes to whoever wants it, not coming back. bye all",
            Level::Imminent,
        ),
    ]);
}

/// Ordinary talk that shares words with the new patterns.
#[test]
fn test_new_patterns_keep_ordinary_talk_quiet() {
    check(&[
        ("so proud of myself for going to the gym", Level::None),
        ("took my pills this morning as usual", Level::None),
        ("overdosed on chocolate at the party lol", Level::None),
        ("my phone unalived itself in the bath", Level::None),
        (
            "this is goodbye to my old flat, moving tomorrow!",
            Level::None,
        ),
        ("bye all, off to bed", Level::None),
        ("i never wake up on time for work", Level::None),
        ("the file does not exist on the server", Level::None),
        (
            "we stood on the bridge and watched the fireworks",
            Level::None,
        ),
        ("i cut my hair short again", Level::None),
        ("ten years since my dads suicide, miss him", Level::None),
        (
            "two years ago i was suicidal. therapy helped, im doing well now",
            Level::None,
        ),
        (
            "for years i wanted to die and nothing helped",
            Level::Urgent,
        ),
    ]);
}

/// Regression: zero-width spaces used instead of spaces read as one long
/// word, so "I\u{200B}want\u{200B}to\u{200B}die" was `none`.
#[test]
fn test_invisible_characters_between_words_are_read_as_spaces() {
    let invisible = [
        ('\u{200B}', "zero-width space"),
        ('\u{200C}', "zero-width non-joiner"),
        ('\u{200D}', "zero-width joiner"),
        ('\u{2060}', "word joiner"),
        ('\u{FEFF}', "byte-order mark"),
        ('\u{00AD}', "soft hyphen"),
        ('\u{180E}', "Mongolian vowel separator"),
        ('\u{3164}', "Hangul filler"),
    ];
    let mut wrong = Vec::new();
    for (c, name) in invisible {
        for (words, want) in [
            (&["I", "want", "to", "die"][..], Level::Urgent),
            (
                &["i", "am", "going", "to", "kill", "myself", "tonight"],
                Level::Imminent,
            ),
            (&["nobody", "would", "miss", "me"], Level::Concern),
            // Read as spaces, context still sets signals aside.
            (&["I", "would", "never", "kill", "myself"], Level::None),
            (&["my", "brother", "is", "suicidal"], Level::None),
            (&["lovely", "weather", "today"], Level::None),
        ] {
            let text = words.join(&c.to_string());
            let got = assess(&text);
            if got.level != want {
                wrong.push(format!("{name}: {text:?}: want {want:?}, got {got:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Zero-width characters inside a word still join it, also when the same
/// message has them between words.
#[test]
fn test_invisible_characters_inside_words_still_join_them() {
    check(&[
        ("i am su\u{200B}ici\u{200B}dal", Level::Urgent),
        ("kill my\u{2060}self", Level::Urgent),
        ("k\u{00AD}i\u{00AD}l\u{00AD}l myself", Level::Urgent),
        ("\u{FEFF}I want to d\u{200D}ie", Level::Urgent),
        (
            "I\u{200B}want\u{200B}to\u{200B}die\u{200B}tonight and kil\u{200C}l my\u{200C}self",
            Level::Imminent,
        ),
    ]);
}

/// Spaces other than U+0020 separate words like it does.
#[test]
fn test_unicode_spaces_separate_words() {
    let spaces = ['\u{00A0}', '\u{1680}', '\u{202F}', '\u{205F}', '\u{3000}']
        .into_iter()
        .chain('\u{2000}'..='\u{200A}');
    let mut wrong = Vec::new();
    for c in spaces {
        for (words, want) in [
            (&["I", "want", "to", "die"][..], Level::Urgent),
            (&["I", "would", "never", "kill", "myself"], Level::None),
        ] {
            let text = words.join(&c.to_string());
            let got = assess(&text);
            if got.level != want {
                wrong.push(format!(
                    "U+{:04X}: {text:?}: want {want:?}, got {got:?}",
                    c as u32
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn test_whole_phrases_spelt_out_letter_by_letter() {
    check(&[
        ("s o  t i r e d  o f  l i v i n g", Level::Concern),
        ("i w a n t t o d i e", Level::Urgent),
        ("g.o.n.n.a.k.i.l.l.m.y.s.e.l.f", Level::Urgent),
        ("N O B O D Y W O U L D C A R E", Level::Concern),
        // Spelt-out everyday talk stays quiet.
        ("s e e y o u a t t h e m e e t i n g", Level::None),
        ("l o l", Level::None),
    ]);
}

#[test]
fn test_a_few_plain_phrases_in_other_languages() {
    check(&[
        ("ya no quiero vivir", Level::Urgent),
        ("me quiero matar", Level::Urgent),
        ("je veux mourir", Level::Urgent),
        ("ich will sterben", Level::Urgent),
        ("quero morrer, sério", Level::Urgent),
        ("gusto ko nang mamatay", Level::Urgent),
        ("mujhe marna hai yaar", Level::Urgent),
        ("ölmek istiyorum", Level::Urgent),
        ("aku ingin mati", Level::Urgent),
        ("aku mau bunuh diri", Level::Urgent),
        ("хочу умереть", Level::Urgent),
        ("ich will sterben. heute nacht.", Level::Imminent),
        ("ich möchte einfach nicht mehr aufwachen", Level::Concern),
        // Said the other way round, or an idiom: nothing.
        ("no quiero morir, solo estoy cansado", Level::None),
        ("nahi marna hai mujhe, bas thak gaya", Level::None),
        ("ce boulot va me tuer", Level::None),
        ("das wird mich noch umbringen haha", Level::None),
        ("me voy a morir de risa", Level::None),
        ("hasta esta noche amigos", Level::None),
        ("bunuh diri bukan jalan keluar, kata guru", Level::None),
    ]);
}

/// Recovery told with other words, a clinician's question answered no, a
/// song's words and idioms in other languages are not the writer's
/// crisis; the same words said of now, answered yes or meant still are.
#[test]
fn test_recovery_questions_lyrics_and_foreign_idioms() {
    use Level::*;
    check(&[
        (
            "years ago i tried to kill myself. still here and glad of it",
            None,
        ),
        (
            "in college i wanted to die, i'm so grateful i got help",
            None,
        ),
        (
            "the nurse asked if i'd ever thought about suicide. i haven't",
            None,
        ),
        (
            "my gp asked me whether i want to kill myself and i said no",
            None,
        ),
        ("the song goes i don't want to live forever, catchy", None),
        (
            "the chorus sings i want to die and everyone screams along",
            None,
        ),
        ("quiero morir de la risa con este video", None),
        ("je vais mourir de rire", None),
        ("vou morrer de fome se o almoço não chegar", None),
        ("Discuss the theme of suicide in Hamlet, 2000 words", None),
        ("my dissertation is on suicide risk in farmers", None),
        (
            "for uni i'm writing an essay on self harm in teen novels",
            None,
        ),
        ("we did a self harm assessment module at work today", None),
        ("my aunt died by suicide when i was small", None),
        ("four years clean from self harm as of today", None),
        (
            "i survived my overdose in 2017 and now i mentor others",
            None,
        ),
        ("when i was 15 i was suicidal, now i'm 30 and happy", None),
        ("the school had a talk on overdose prevention", None),
        ("we're reading about durkheim's theory of suicide", None),
        // The same words, meant now.
        ("i tried to kill myself last night", Urgent),
        (
            "i survived my overdose last night and i wish i hadn't",
            Urgent,
        ),
        (
            "two days clean from self harm but i want to cut so bad",
            Urgent,
        ),
        (
            "i barely survived my overdose years ago and i want to try again",
            Urgent,
        ),
        ("my mum died by suicide and i want to die too", Urgent),
        ("i was happy once but now i want to kill myself", Urgent),
        (
            "years ago i was suicidal and it's back, i'm not happy at all",
            Urgent,
        ),
        ("my essay is late and i keep thinking about suicide", Urgent),
        ("the documentary was fine but i'm suicidal again", Urgent),
        (
            "can't write this essay, self harm is all i think about",
            Urgent,
        ),
        (
            "the nurse asked if i'd thought about suicide and i said yes, every day",
            Urgent,
        ),
        (
            "the gp asked if i want to kill myself and i didn't know what to say",
            Urgent,
        ),
        (
            "i keep asking myself whether i should kill myself, i dont see another way",
            Urgent,
        ),
        // A question answered with more than a plain no is no denial.
        (
            "the nurse asked if i wanted to kill myself and i couldnt say no",
            Urgent,
        ),
        (
            "my gp asked whether i was suicidal. i said yes. no one gets it",
            Urgent,
        ),
        (
            "she asked if i still want to die. not a day goes by that i dont",
            Urgent,
        ),
        (
            "my therapist asked if i wanted to kill myself. i havent told anyone how bad it is",
            Urgent,
        ),
        ("the gp asked if i want to kill myself. not yet", Urgent),
        ("i don't want to live anymore", Urgent),
        ("quiero morir", Urgent),
        ("quiero morir de una vez", Urgent),
        // Recovery denied is no recovery.
        (
            "back in 2019 i tried to kill myself and nothing has got better",
            Urgent,
        ),
        (
            "years ago i wanted to die and i havent been okay since",
            Urgent,
        ),
    ]);
}

/// A no given in the question's own sentence, someone else's act, means
/// or goodbye, "free from", a feeling denied, and more topic words: quiet.
/// The same words meant now still alert.
#[test]
fn test_answers_other_peoples_acts_and_topics() {
    use Level::*;
    check(&[
        (
            "the doctor asked whether i'd thought of harming myself and i could honestly say no. just worn out",
            None,
        ),
        (
            "my counsellor asks if i've self harmed and these days i can finally say no",
            None,
        ),
        (
            "a lad on my course told me he's been stockpiling pills, i rang his dad tonight",
            None,
        ),
        (
            "someone in the chat said they just took a bunch of pills, how do i find out where they are",
            None,
        ),
        (
            "in the show the captain gave away all his things before the last battle",
            None,
        ),
        ("three years free from self harm as of this week", None),
        (
            "i don't feel like a burden anymore, that's new for me",
            None,
        ),
        (
            "the school held an assembly about self harm this morning",
            None,
        ),
        (
            "our ethics seminar asked whether we have a duty to prevent suicide",
            None,
        ),
        ("signed up for a suicide intervention course at work", None),
        (
            "the uk suicide crisis line number is pinned in the resources channel",
            None,
        ),
        // The same words, meant now.
        (
            "the doctor asked whether i'd thought of harming myself and i said no. but i lied, i have",
            Urgent,
        ),
        (
            "the nurse asked if i wanted to kill myself and i couldnt say no",
            Urgent,
        ),
        (
            "saving up my pills and tonight i am taking them all",
            Imminent,
        ),
        ("just took a bunch of pills", Imminent),
        (
            "three months free from self harm but i relapsed last night",
            Urgent,
        ),
        (
            "two days free of self harm and i want to cut so bad",
            Urgent,
        ),
        ("i feel like such a burden to everyone", Concern),
        ("i keep thinking about suicide since the assembly", Urgent),
    ]);
}

#[test]
fn test_words_talked_about_answers_and_the_past_stay_quiet() {
    use Level::*;
    check(&[
        // Words talked about as words.
        (
            "my little brother asked me what the word suicide means",
            None,
        ),
        ("kms is such an overused slang word on here", None),
        (
            "the \"i want to die\" memes on my feed are getting old",
            None,
        ),
        (
            "reminder: \"i want to die\" posts get a private check in from a mod",
            None,
        ),
        (
            "in spanish class we learned that suicidio means suicide",
            None,
        ),
        // A screening list answered no, item by item.
        (
            "filled in the form at the clinic. suicide? no. self harm? no.",
            None,
        ),
        (
            "my mood survey had thoughts of hurting myself: not at all",
            None,
        ),
        (
            "my therapist asked if i had thought about hurting myself. i said no and meant it",
            None,
        ),
        // Someone else named as the one who acted.
        (
            "my uncle is in hospital after taking too many pills last night",
            None,
        ),
        (
            "a client told me he had been stockpiling tablets, i passed it on to my manager",
            None,
        ),
        // The past, with an age or years named.
        (
            "at 16 i wanted to die most days. im 30 now and it really did change",
            None,
        ),
        (
            "12 years ago today i tried to kill myself. today i ran my first half marathon",
            None,
        ),
        (
            "finally got my old self harm scars covered with a tattoo of a swallow",
            None,
        ),
        // Somewhere to be for a while; an idiom; a goodnight.
        (
            "i wish i could disappear into a good book for a month",
            None,
        ),
        ("pineapple on pizza is the hill i am happy to die on", None),
        ("this is my last post today, off to bed. night all", None),
        // The same words, meant now.
        ("i just want to die and nobody would even notice", Urgent),
        (
            "at 16 i wanted to die and i still do, every single day",
            Urgent,
        ),
        (
            "2 years ago i tried to kill myself and i want to try again",
            Urgent,
        ),
        (
            "the doctor asked if i had thought about hurting myself. yes, every day",
            Urgent,
        ),
        (
            "my uncle never visits. took all my pills an hour ago",
            Imminent,
        ),
        ("i wish i could disappear forever", Concern),
        (
            "this is my last post. i wont be around after tonight",
            Imminent,
        ),
    ]);
}

#[test]
fn test_more_ways_of_saying_it() {
    use Level::*;
    check(&[
        ("honestly mate i want to top myself", Urgent),
        ("gonna top myself if this carries on", Urgent),
        ("that gig will be hard to top myself, best night ever", None),
        ("broke a mug and used a shard of it on myself", Urgent),
        ("i carved the word hate into my arm yesterday", Urgent),
        ("back off the wagon with sh after six months", Urgent),
        ("the urges to end it are so loud tonight", Imminent),
        ("ctb has been on my mind all week", Urgent),
        ("why can't i just die already", Urgent),
        ("i'd be glad to die, honestly", Urgent),
        ("drank a whole cup of bleach. sorry", Imminent),
        ("mixing my tablets with gin right now", Imminent),
        ("sitting at the overpass, i'm ready", Imminent),
        (
            "going to walk into the sea tonight and not come back",
            Imminent,
        ),
        ("deleted all my socials. bye everyone", Imminent),
        ("exit plan is set for tomorrow", Imminent),
        (
            "made the playlist for my funeral. it's set for tonight",
            Imminent,
        ),
        ("my kids deserve a better dad than me", Concern),
        ("existing feels like a chore lately", Concern),
        ("been stockpiling my tablets since march. sunday", Imminent),
        ("both arms covered in fresh cuts again", Urgent),
        ("scratched his initials into my wrist", Urgent),
        ("i'll be gone by morning. take care of each other", Imminent),
        // Everyday twins.
        ("used a knife on the onions and cried anyway", None),
        ("deleted all my socials for a month, feels great", None),
        ("our exit plan from the office party is 9pm sharp", None),
        ("my cat deserves better food than me honestly", None),
    ]);
}

/// Session 25's rules, each beside a twin that must still alert: jokes
/// taken back, others named past a possessive, words asked about, "last"
/// before an everyday event, recovery said as "not anymore"; and more
/// ways of saying it (pills by the load or strip, "sh'd", a birthday or
/// new year's eve as the time, not picturing oneself at an age).
#[test]
fn test_jokes_taken_back_others_and_more_phrasings() {
    use Level::*;
    check(&[
        // A joke taken back, and one that is not.
        ("this group chat will make me unalive myself lol jk", None),
        ("i'm gonna kill myself. not joking this time", Urgent),
        ("i want to kill myself, only half joking", Urgent),
        ("kms jk... unless?", Urgent),
        // Someone else, named past "my".
        ("a kid in my year group self harms and i'm worried", None),
        ("my suicidal thoughts came back this week", Urgent),
        ("someone at my work is suicidal, how do i help", None),
        // Words asked about.
        ("what does ctb stand for? new here", None),
        ("does kms mean what i think it means", None),
        ("is ctb short for something? seen it twice", None),
        ("\"unalive\" is such a silly word tbh", None),
        (
            "please say \"died by suicide\" rather than the old phrase",
            None,
        ),
        ("ctb is all i think about now", Urgent),
        // "Last" before an everyday event.
        ("my last post before my finals, wish me luck everyone", None),
        ("last message till my flight lands, see you all later", None),
        ("this is my last message. goodbye forever", Imminent),
        // Recovery said plainly.
        ("i was suicidal at uni. i'm not anymore", None),
        ("i was suicidal at uni and i still am", Urgent),
        // More ways of saying it.
        ("logging off permanently. look after each other", Imminent),
        ("took a load of my mum's sleeping tablets", Imminent),
        ("swallowed the whole packet an hour ago", Imminent),
        ("took the rest of my meds with a bottle of wine", Imminent),
        ("sh'd again last night, worse than before", Urgent),
        ("been sh'ing most days since christmas", Urgent),
        ("you shd try the new cafe again", None),
        ("i'm ending it on my birthday", Imminent),
        ("ending it on new year's eve, it's decided", Imminent),
        ("can't picture myself living past 25", Concern),
        ("i honestly never saw myself making it to 40", Concern),
        ("can't see myself living in london though", None),
        ("the letters for mum are written. tonight", Imminent),
        ("tell mum i love her. i'm on the bridge now", Imminent),
        // Someone else's wish; a question answered "i could say no";
        // hyperbole.
        (
            "my sister said she wanted to end it, we sat with her all night",
            None,
        ),
        ("want to end it tonight", Imminent),
        (
            "my gp asked if i'd thought about ending my life and this time i could say no",
            None,
        ),
        (
            "my gp asked if i'd thought about ending my life and i couldn't say no",
            Urgent,
        ),
        ("this heat, i'm literally going to die", None),
        ("want to kms. my friends think im joking but im not", Urgent),
        ("took a load of old tablets back to the chemist", None),
        (
            "the nurse asked if i'd thought of killing myself and i lied and said no",
            Urgent,
        ),
        ("sewerslide sounds really good today", Urgent),
    ]);
}

/// Blind set 8's rules, second part (from blind set 9, once it was
/// spent): things about something else, fiction, meanings asked, and more
/// ways of saying it. Each quiet case has a twin that must alert.
#[test]
fn test_something_else_fiction_and_yet_more_phrasings() {
    use Level::*;
    check(&[
        // About something else.
        ("could sleep forever this weekend after that week", None),
        ("i want to sleep forever and not wake up", Concern),
        ("no point going to the shop now, it's shut", None),
        ("there's no point going on like this", Concern),
        ("hope i don't wake up late for my flight", None),
        ("i hope i don't wake up tomorrow", Concern),
        ("i can't go on the trip, my leg's in a cast", None),
        ("we're all gonna die someday, so eat the cake", None),
        ("my big sister gave away all her stuff, what do i do", None),
        ("gonna unalive my printer if it jams once more", None),
        ("the overdose story on the news made me sad", None),
        (
            "my character says \"i want to disappear\" in the last scene",
            None,
        ),
        (
            "can someone tell me what \"passive suicidal ideation\" means?",
            None,
        ),
        ("i never had thoughts of suicide, just low mood", None),
        ("i'm close to suicide tonight", Imminent),
        (
            "my last post for a while, on a break from screens till june",
            None,
        ),
        (
            "we're off to take photos at the pier at dusk, going to be lovely",
            None,
        ),
        ("sitting at the pier now, i'm ready", Imminent),
        (
            "the screening asks if i'd be better off dead. i scored 0 on it",
            None,
        ),
        ("overdosed in my twenties. now i run a support group", None),
        (
            "i used to think i was a burden. i don't believe that anymore",
            None,
        ),
        // More ways of saying it.
        ("took my whole prescription an hour ago", Imminent),
        ("burned my hand on the hot pan on purpose", Urgent),
        ("hoping for an accident on the way home", Concern),
        ("dying of a stroke in my sleep sounds peaceful", Concern),
        ("had another sh episode last night", Urgent),
        ("praying for a heart attack in my sleep", Concern),
        ("if i vanished the group would be fine", Concern),
        ("loose ends all sorted. saturday it ends", Imminent),
        ("rope's tied. sorry everyone", Imminent),
        ("climbing over the railing now", Imminent),
        ("gonna walk into traffic tonight", Imminent),
        ("if you're reading this i've already done it", Imminent),
        (
            "made a playlist for my own funeral. it's tomorrow",
            Imminent,
        ),
        (
            "had my last meal. going to sleep for good tonight",
            Imminent,
        ),
        ("on the roof. cheers for all the laughs lads", Imminent),
        ("i'm not scared anymore, the blade is ready", Imminent),
    ]);
}
